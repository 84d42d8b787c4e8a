import { watchRollout } from '../core/watch-rollout.ts';
import { VolumeRollStartedDetail } from '../events/schemas.ts';
import { queueFunction } from './_shared/eventbridge-queue-handler.ts';
import { keptDecisions } from './_shared/kept-decisions.ts';
import { incidentStore, rollouts } from './_shared/wiring.ts';

/**
 * `Volume Roll Started` → looks at the rollout until it ends → `Volume Roll
 * Completed`; each look waits on the function's own queue
 * (PULLMEDIC_WATCH_DELAY_SECONDS, at most PULLMEDIC_WATCH_MAX_LOOKS looks).
 */
export const definition = queueFunction({
  name: 'watch-rollout',
  detail: VolumeRollStartedDetail,
  // The ports watch-rollout uses; its bundle carries only their SDK clients.
  ports: (w) => ({ incidents: incidentStore(w), rollouts: rollouts(w) }),
  // Each look at a rollout is decided once: a redelivered look emits what
  // the first one found, and asks for the same next look.
  decisions: keptDecisions,
  useCase: async (event, run, deps, looks) => {
    const { watch } = deps.config;
    const result = await watchRollout(
      event.detail,
      looks,
      watch.maxLooks,
      run,
      deps
    );
    return result.kind === 'again'
      ? { emitted: [], lookAgainInSeconds: watch.delaySeconds }
      : result.emitted;
  },
});

export const handler = definition.handler();
