import { rollVolume } from '../core/roll-volume.ts';
import { VolumeRollRequestedDetail } from '../events/schemas.ts';
import { eventBridgeQueueHandler } from './_shared/eventbridge-queue-handler.ts';
import {
  incidentStore,
  launchTemplates,
  nodeDirectory,
  rollLocks,
  rollouts,
  wire,
} from './_shared/wiring.ts';

/** The ports roll-volume uses; its bundle carries only their SDK clients. */
const dependencies = wire((w) => ({
  incidents: incidentStore(w),
  locks: rollLocks(w),
  nodes: nodeDirectory(w),
  launchTemplates: launchTemplates(w),
  rollouts: rollouts(w),
}));

/** `Volume Roll Requested` → a new launch template version and the rollout. */
export const handler = eventBridgeQueueHandler(
  'roll-volume',
  VolumeRollRequestedDetail,
  dependencies,
  (event, run, deps) => rollVolume(event.detail, run, deps)
);
