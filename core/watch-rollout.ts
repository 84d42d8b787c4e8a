import { DETAIL_TYPES } from '../events/detail-types.ts';
import type {
  VolumeRollCompletedDetail,
  VolumeRollStartedDetail,
} from '../events/schemas.ts';
import { incidentKey, type RunMode } from './context.ts';
import type { Clock, Emitted, IncidentStore, Rollouts } from './ports.ts';
import { escalation, recordEscalations } from './remediate.ts';

export interface WatchRolloutDeps {
  rollouts: Rollouts;
  incidents: IncidentStore;
  clock: Clock;
}

/** What to do after one look at a rollout. */
export type WatchResult =
  | { kind: 'again' }
  | { kind: 'done'; emitted: Emitted[] };

/**
 * Follows a started rollout to its end: one look per call. While EKS or
 * Auto Scaling says it is running, look again later (the caller requeues
 * with a delay); when it ends, emit how (Volume Roll Completed); after
 * `maxChecks` looks, tell a person it is taking too long.
 *
 * @example
 * ```ts
 * const result = await watchRollout(started, 3, 72, run, deps);
 * if (result.kind === 'again') await requeue(record, 300);
 * ```
 */
export async function watchRollout(
  started: VolumeRollStartedDetail,
  checks: number,
  maxChecks: number,
  run: RunMode,
  deps: WatchRolloutDeps
): Promise<WatchResult> {
  const rolloutId = started.rollout.id;
  // A dry-run roll started nothing; there is nothing to follow.
  if (rolloutId === null) return { kind: 'done', emitted: [] };
  const status = await deps.rollouts.describeRollout(
    { kind: started.rollout.kind, id: rolloutId },
    { cluster: started.cluster, group: started.nodegroup.name }
  );
  const base = {
    cluster: started.cluster,
    node: started.node,
    dryRun: started.dryRun,
    replayName: run.replayName,
  };
  if (!status.done) {
    if (checks + 1 < maxChecks) return { kind: 'again' };
    const emitted = [
      escalation(
        base,
        started.incidentId,
        `the ${started.rollout.kind} ${rolloutId} of ${started.nodegroup.name} is still ${status.status} after ${checks + 1} checks`,
        [
          `Look at it: ${started.rollout.kind === 'eks-nodegroup-update' ? `aws eks describe-update --name ${started.cluster} --nodegroup-name ${started.nodegroup.name} --update-id ${rolloutId}` : `aws autoscaling describe-instance-refreshes --auto-scaling-group-name ${started.nodegroup.name} --instance-refresh-ids ${rolloutId}`}`,
          'Pods with PodDisruptionBudgets that allow no disruption block node replacement.',
        ]
      ),
    ];
    const key = incidentKey(started.cluster, started.node.name, run);
    await recordEscalations(emitted, key, deps, run);
    return { kind: 'done', emitted };
  }
  const completed: VolumeRollCompletedDetail = {
    ...base,
    incidentId: started.incidentId,
    nodegroup: started.nodegroup,
    rollout: { kind: started.rollout.kind, id: rolloutId },
    status: status.status,
    succeeded: status.succeeded,
    errors: status.errors,
    checks: checks + 1,
    change: {
      launchTemplate: {
        id: started.launchTemplate.id,
        oldVersion: started.launchTemplate.oldVersion,
        newVersion: started.launchTemplate.newVersion,
      },
      deviceName: started.deviceName,
      oldSizeGiB: started.oldSizeGiB,
      newSizeGiB: started.newSizeGiB,
      undo: started.undo,
    },
  };
  await deps.incidents.appendTimeline(
    incidentKey(started.cluster, started.node.name, run),
    started.incidentId,
    {
      at: deps.clock.now().toISOString(),
      step: 'roll-completed',
      eventId: run.eventId,
      detail: `${started.rollout.kind} ${rolloutId}: ${status.status}`,
    }
  );
  return {
    kind: 'done',
    emitted: [
      { detailType: DETAIL_TYPES.volumeRollCompleted, detail: completed },
    ],
  };
}
