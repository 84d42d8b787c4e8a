import * as z from 'zod/mini';
import { MalformedEventError } from '../core/errors.ts';
import { incidentOrder } from '../core/notification-order.ts';
import { noteRestart, resolutionOf } from '../core/resolve.ts';
import { DETAIL_TYPES } from '../events/detail-types.ts';
import { KubernetesEventInput } from '../events/exporter.ts';
import {
  PodRestartedDetail,
  PodRestartSkippedDetail,
} from '../events/schemas.ts';
import { decidedAnew } from './_shared/decisions.ts';
import {
  describeIssues,
  queueFunction,
} from './_shared/eventbridge-queue-handler.ts';
import { incidentStore } from './_shared/wiring.ts';

/** A detail checked against the contract of its detail-type. */
function parsed<T extends z.ZodMiniType>(
  schema: T,
  type: string,
  detail: unknown
): z.infer<T> {
  const result = schema.safeParse(detail);
  if (!result.success) {
    throw new MalformedEventError(
      `${type} does not match its contract: ${describeIssues(result.error.issues)}`
    );
  }
  return result.data;
}

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
  // Kubernetes Events, and what the cluster agent did with each pod it
  // was asked to restart: each read against its own contract below.
  detail: z.record(z.string(), z.unknown()),
  // The ports resolve uses; its bundle carries only their SDK clients.
  ports: (w) => ({ incidents: incidentStore(w) }),
  options: {
    // A restart is noted before the Events of the same second: the
    // replacement's Started then knows it is one.
    inOrder: incidentOrder,
  },
  // Deciding again is safe, so no decision is kept: resolving is one
  // conditional write, a redelivery of the event that resolved the
  // incident emits its resolution again (core/resolve.ts), and a noted
  // restart is one timeline step per event. A kept decision would add two
  // writes to every pull and start in the cluster.
  decisions: decidedAnew,
  useCase: async (event, run, deps, looks) => {
    const type = event['detail-type'];
    if (type === DETAIL_TYPES.podRestarted) {
      const detail = parsed(PodRestartedDetail, type, event.detail);
      await noteRestart({ kind: 'restarted', detail }, run, deps);
      return [];
    }
    if (type === DETAIL_TYPES.podRestartSkipped) {
      const detail = parsed(PodRestartSkippedDetail, type, event.detail);
      await noteRestart({ kind: 'skipped', detail, at: event.time }, run, deps);
      return [];
    }
    const detail = parsed(KubernetesEventInput, type, event.detail);
    const resolution = await resolutionOf(detail, event.time, run, deps);
    if (resolution.kind === 'resolved') return resolution.emitted;
    const inReplay = run.replayName !== undefined;
    const { lookAgain } = deps.config;
    return resolution.kind === 'not-yet' && inReplay && looks < lookAgain.times
      ? { emitted: [], lookAgainInSeconds: lookAgain.seconds }
      : [];
  },
});

export const handler = definition.handler();
