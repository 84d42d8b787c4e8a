import { rollVolume } from '../core/roll-volume.ts';
import { VolumeRollRequestedDetail } from '../events/schemas.ts';
import { eventBridgeQueueHandler } from './_shared/eventbridge-queue-handler.ts';

/** `Volume Roll Requested` → a new launch template version and the rollout. */
export const handler = eventBridgeQueueHandler(
  'roll-volume',
  VolumeRollRequestedDetail,
  (event, run, deps) => rollVolume(event.detail, run, deps)
);
