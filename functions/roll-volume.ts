import { rollVolume } from '../core/roll-volume.ts';
import { VolumeRollRequestedDetail } from '../events/schemas.ts';
import { queueFunction } from './_shared/eventbridge-queue-handler.ts';
import { keptDecisions } from './_shared/kept-decisions.ts';
import {
  incidentStore,
  launchTemplates,
  nodeDirectory,
  rollLocks,
  rollouts,
} from './_shared/wiring.ts';

/** `Volume Roll Requested` → a new launch template version and the rollout. */
export const definition = queueFunction({
  name: 'roll-volume',
  detail: VolumeRollRequestedDetail,
  // The ports roll-volume uses; its bundle carries only their SDK clients.
  ports: (w) => ({
    incidents: incidentStore(w),
    locks: rollLocks(w),
    nodes: nodeDirectory(w),
    launchTemplates: launchTemplates(w),
    rollouts: rollouts(w),
  }),
  // A roll makes its launch template version and starts its rollout
  // once: a redelivery (the publish of Volume Roll Started failed, say)
  // emits the first decision again.
  decisions: keptDecisions,
  useCase: (event, run, deps) => rollVolume(event.detail, run, deps),
});

export const handler = definition.handler();
