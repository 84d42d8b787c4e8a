import { resolutionOf } from '../core/resolve.ts';
import { KubernetesEventInput } from '../events/exporter.ts';
import { queueFunction } from './_shared/eventbridge-queue-handler.ts';
import { incidentStore } from './_shared/wiring.ts';

/**
 * Normal Pulled/Started on a node with an open incident → resolved, with
 * MTTR. A replay delivers an incident's events all at once, so its Pulled
 * event can reach this function before the Failed event has opened the
 * incident it proves: in a replay, such an event looks again. Live, a
 * Pulled event comes long after the prune it follows, and looking again at
 * every pull in the cluster would cost more than it finds.
 */
export const definition = queueFunction({
  name: 'resolve',
  detail: KubernetesEventInput,
  // The ports resolve uses; its bundle carries only their SDK clients.
  ports: (w) => ({ incidents: incidentStore(w) }),
  useCase: async (event, run, deps, looks) => {
    const resolution = await resolutionOf(event.detail, event.time, run, deps);
    if (resolution.kind === 'resolved') return resolution.emitted;
    const inReplay = run.replayName !== undefined;
    const { lookAgain } = deps.config;
    return resolution.kind === 'not-yet' && inReplay && looks < lookAgain.times
      ? { emitted: [], lookAgainInSeconds: lookAgain.seconds }
      : [];
  },
});

export const handler = definition.handler();
