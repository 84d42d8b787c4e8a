import { DETAIL_TYPES } from '../events/detail-types.ts';
import type {
  VolumeRollCompletedDetail,
  VolumeRollStartedDetail,
} from '../events/schemas.ts';
import { incidentKey, type RunMode } from './context.ts';
import { isPermanentFailure } from './errors.ts';
import { escalate, failureOf } from './escalation.ts';
import { dueAfter } from './incident-steps.ts';
import type { Policy } from './policy.ts';
import type {
  Clock,
  Emitted,
  IncidentKey,
  IncidentStore,
  Move,
  Rollouts,
} from './ports.ts';
import { notYetAsked, restartRequest } from './restart-request.ts';

export interface WatchRolloutDeps {
  rollouts: Rollouts;
  incidents: IncidentStore;
  clock: Clock;
  policy: Policy;
}

/** What to do after one look at a rollout. */
export type WatchResult =
  | { kind: 'again' }
  | { kind: 'done'; emitted: Emitted[] };

/**
 * Follows a started rollout to its end: one look per call. While EKS or
 * Auto Scaling says it is running, look again later (the caller requeues
 * with a delay) and push the incident's deadline, so the reconciler knows
 * someone watches; when it ends, move the incident to roll-completed and
 * emit how (Volume Roll Completed); after `maxChecks` looks, tell a
 * person it is taking too long.
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
  deps: WatchRolloutDeps,
  commit?: (move: Move, emitted: Emitted[]) => Promise<boolean>
): Promise<WatchResult> {
  const rolloutId = started.rollout.id;
  // A dry-run roll started nothing; there is nothing to follow.
  if (rolloutId === null) return { kind: 'done', emitted: [] };
  const key = incidentKey(started.cluster, started.node.name, run);
  const incident = { key, incidentId: started.incidentId };
  const base = {
    cluster: started.cluster,
    node: started.node,
    dryRun: started.dryRun,
    replayName: run.replayName,
  };
  try {
    const key = incidentKey(started.cluster, started.node.name, run);
    const advance =
      commit ??
      ((move: Move) =>
        deps.incidents
          .advance(key, started.incidentId, move)
          .then(
            (a) => a.outcome !== 'refused' || a.incident?.status !== 'open'
          ));
    return await look(
      started,
      rolloutId,
      checks,
      maxChecks,
      base,
      run,
      deps,
      advance
    );
  } catch (err) {
    if (!isPermanentFailure(err)) throw err;
    const failure = failureOf(
      err,
      'watch-rollout',
      `the ${started.rollout.kind} ${rolloutId} of ${started.nodegroup.name}`
    );
    return {
      kind: 'done',
      emitted: await escalate(
        incident,
        failure.reason,
        failure.nextSteps,
        base,
        run,
        deps
      ),
    };
  }
}

async function look(
  started: VolumeRollStartedDetail,
  rolloutId: string,
  checks: number,
  maxChecks: number,
  base: Omit<
    VolumeRollCompletedDetail,
    | 'incidentId'
    | 'nodegroup'
    | 'rollout'
    | 'status'
    | 'succeeded'
    | 'errors'
    | 'checks'
    | 'change'
  >,
  run: RunMode,
  deps: WatchRolloutDeps,
  commit: (move: Move, emitted: Emitted[]) => Promise<boolean>
): Promise<WatchResult> {
  const key = incidentKey(started.cluster, started.node.name, run);
  const incident = { key, incidentId: started.incidentId };
  const status = await deps.rollouts.describeRollout(
    { kind: started.rollout.kind, id: rolloutId },
    { cluster: started.cluster, group: started.nodegroup.name }
  );
  const now = deps.clock.now();
  if (!status.done) {
    if (checks + 1 < maxChecks) {
      // Someone watches: the reconciler stays away while looks go on.
      const current = await deps.incidents.get(key);
      if (
        current?.step === 'roll-started' &&
        current.incidentId === started.incidentId
      ) {
        // stepBy: whoever moved it to roll-started (the write checks it
        // still is).
        await deps.incidents.progress(
          key,
          started.incidentId,
          current.stepBy as string,
          {
            due: dueAfter(
              'roll-started',
              now,
              deps.policy.deadlines,
              key.scope
            ),
            ...(current.roll
              ? { roll: { ...current.roll, looks: checks + 1 } }
              : {}),
          }
        );
      }
      return { kind: 'again' };
    }
    return {
      kind: 'done',
      emitted: await escalate(
        incident,
        `the ${started.rollout.kind} ${rolloutId} of ${started.nodegroup.name} is still ${status.status} after ${checks + 1} checks`,
        [
          `Look at it: ${started.rollout.kind === 'eks-nodegroup-update' ? `aws eks describe-update --name ${started.cluster} --nodegroup-name ${started.nodegroup.name} --update-id ${rolloutId}` : `aws autoscaling describe-instance-refreshes --auto-scaling-group-name ${started.nodegroup.name} --instance-refresh-ids ${rolloutId}`}`,
          'Pods with PodDisruptionBudgets that allow no disruption block node replacement.',
        ],
        base,
        run,
        deps
      ),
    };
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
  const emitted: Emitted[] = [
    { detailType: DETAIL_TYPES.volumeRollCompleted, detail: completed },
  ];
  if (status.succeeded)
    emitted.push(...(await restartAfter(started, key, run, deps)));
  const moved = await commit(
    {
      to: 'roll-completed',
      by: run.eventId,
      due: dueAfter('roll-completed', now, deps.policy.deadlines, key.scope),
      entry: {
        at: now.toISOString(),
        step: 'roll-completed',
        eventId: run.eventId,
        detail: `${started.rollout.kind} ${rolloutId}: ${status.status}`,
      },
    },
    emitted
  );
  // Seen to its end by another look already (the reconciler's or a
  // duplicate event's): that one said so. An incident resolved before the
  // rollout ended still hears how it ended (the default commit says so).
  return { kind: 'done', emitted: moved ? emitted : [] };
}

/**
 * The pods that waited out a successful rollout are restarted now rather
 * than after the kubelet's back-off; the agent leaves alone any that a
 * drain has already moved. Nothing for an incident resolved meanwhile.
 */
async function restartAfter(
  started: VolumeRollStartedDetail,
  key: IncidentKey,
  run: RunMode,
  deps: WatchRolloutDeps
): Promise<Emitted[]> {
  const current = await deps.incidents.get(key);
  if (current?.incidentId !== started.incidentId || current.status !== 'open')
    return [];
  const restart = restartRequest(
    notYetAsked(current),
    {
      cluster: started.cluster,
      node: started.node,
      dryRun: started.dryRun,
      replayName: run.replayName,
    },
    'rollout',
    deps.policy.maxPodRestarts,
    deps.clock
  );
  return restart ? [restart] : [];
}
