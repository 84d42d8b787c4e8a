import { watchRollout } from '../core/watch-rollout.ts';
import { VolumeRollStartedDetail } from '../events/schemas.ts';
import { nonNegative } from './_shared/config.ts';
import { eventBridgeQueueHandler } from './_shared/eventbridge-queue-handler.ts';
import { incidentStore, rollouts, wire } from './_shared/wiring.ts';

// Read once at cold start: how often to look, and for how long.
const DELAY_SECONDS = nonNegative('PULLMEDIC_WATCH_DELAY_SECONDS', 300);
const MAX_LOOKS = nonNegative('PULLMEDIC_WATCH_MAX_LOOKS', 72);

/** The ports watch-rollout uses; its bundle carries only their SDK clients. */
const dependencies = wire((w) => ({
  incidents: incidentStore(w),
  rollouts: rollouts(w),
}));

/** `Volume Roll Started` → looks at the rollout until it ends → `Volume Roll Completed`. */
export const handler = eventBridgeQueueHandler(
  'watch-rollout',
  VolumeRollStartedDetail,
  dependencies,
  async (event, run, deps, looks) => {
    const result = await watchRollout(
      event.detail,
      looks,
      MAX_LOOKS,
      run,
      deps
    );
    return result.kind === 'again'
      ? { emitted: [], lookAgainInSeconds: DELAY_SECONDS }
      : result.emitted;
  }
);
