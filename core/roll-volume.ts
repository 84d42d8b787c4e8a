import type { BusDetail } from '../events/contracts.ts';
import { DETAIL_TYPES, SOURCES } from '../events/detail-types.ts';
import type {
  VolumeRollProposedDetail,
  VolumeRollRequestedDetail,
  VolumeRollStartedDetail,
} from '../events/schemas.ts';
import {
  type DecisionBase,
  decisionBase,
  incidentKey,
  type RunMode,
} from './context.ts';
import { isPermanentFailure } from './errors.ts';
import { escalate, escalation, failureOf } from './escalation.ts';
import { dueAfter } from './incident-steps.ts';
import { planVolumeGrowth, type VolumePlan } from './launch-template.ts';
import { isRollAllowed, type Policy, targetVolumeGiB } from './policy.ts';
import type {
  Clock,
  Emitted,
  IncidentKey,
  IncidentStore,
  LaunchTemplateData,
  LaunchTemplateRef,
  LaunchTemplates,
  NodeDirectory,
  NodeOrigin,
  RollLocks,
  Rollouts,
  RollProgress,
} from './ports.ts';
import { containerdDeviceOf, containerdVolumeOf } from './volumes.ts';

export interface RollVolumeDeps {
  /** The bus the approval command puts its event on. */
  busName?: string;
  incidents: IncidentStore;
  nodes: NodeDirectory;
  launchTemplates: LaunchTemplates;
  rollouts: Rollouts;
  locks: RollLocks;
  clock: Clock;
  policy: Policy;
}

/** How a node's group can be rolled, or why pullmedic must not. */
type RollPath =
  | {
      kind: 'managed';
      cluster: string;
      nodegroup: string;
      launchTemplate: LaunchTemplateRef;
    }
  | { kind: 'self-managed'; group: string; launchTemplate: LaunchTemplateRef }
  | { kind: 'hands-off'; why: string; nextSteps: string[] };

/**
 * Decides how the node's group gets bigger volumes. Managed node groups
 * with a launch template and self-managed Auto Scaling groups are rolled;
 * Karpenter, diskSize node groups and templates owned by infrastructure
 * code are not (the next apply would undo it): on-call gets the change to
 * make instead.
 *
 * @example
 * ```ts
 * rollPathOf(origin, 100);
 * ```
 */
export function rollPathOf(
  origin: NodeOrigin,
  targetGiB: number,
  /** The device to grow, as decided for this roll. */
  device: string = containerdDeviceOf(origin)
): RollPath {
  if (origin.karpenterNodePool !== undefined) {
    return {
      kind: 'hands-off',
      why: `the node was launched by Karpenter (NodePool ${origin.karpenterNodePool})`,
      nextSteps: [
        `Set the volume in the EC2NodeClass of NodePool ${origin.karpenterNodePool}: spec.blockDeviceMappings: [{deviceName: ${device}, ebs: {volumeSize: ${targetGiB}Gi, volumeType: gp3, encrypted: true}}]`,
        'Karpenter drifts the nodes to the new size by itself.',
      ],
    };
  }
  if (origin.managedBy !== undefined) {
    return {
      kind: 'hands-off',
      why: `its launch template is managed by ${origin.managedBy} (tag pullmedic.io/managed-by)`,
      nextSteps: [
        `In ${origin.managedBy}, set block_device_mappings { device_name = "${device}" ebs { volume_size = ${targetGiB} volume_type = "gp3" } } on the node group's launch template, and apply.`,
      ],
    };
  }
  // A managed node group without a launch template of its own: the
  // instance's template is EKS's, which no one can tag or roll, so the
  // opt-in does not apply and the answer is a new node group.
  const ng = origin.eksNodegroup;
  if (ng !== undefined && ng.launchTemplate === undefined) {
    return {
      kind: 'hands-off',
      why: `managed node group ${ng.name} has no launch template (diskSize ${ng.diskSizeGiB ?? '?'} GiB cannot be changed in place)`,
      nextSteps: [
        `Create a new node group with a bigger disk and move the workloads: eksctl create nodegroup --cluster ${ng.cluster} --name ${ng.name}-${targetGiB}g --node-volume-size ${targetGiB} …, then drain and delete ${ng.name}.`,
        `Terraform (terraform-aws-eks): disk_size = ${targetGiB} creates a replacement node group.`,
      ],
    };
  }
  const template = origin.eksNodegroup?.launchTemplate ?? origin.launchTemplate;
  if (template !== undefined && origin.rollOptIn === false) {
    return {
      kind: 'hands-off',
      why: `its launch template ${template.id} has not opted in (tag pullmedic.io/allow-roll=true)`,
      nextSteps: [
        `To let pullmedic roll it: aws ec2 create-tags --resources ${template.id} --tags Key=pullmedic.io/allow-roll,Value=true (and the same tag on a self-managed Auto Scaling group).`,
        `Or by hand: a new version of ${template.id} with ${device} at ${targetGiB} GiB, then roll the group to it.`,
      ],
    };
  }
  if (ng !== undefined && ng.launchTemplate !== undefined) {
    return {
      kind: 'managed',
      cluster: ng.cluster,
      nodegroup: ng.name,
      launchTemplate: ng.launchTemplate,
    };
  }
  if (origin.autoScalingGroup !== undefined && origin.launchTemplate) {
    return {
      kind: 'self-managed',
      group: origin.autoScalingGroup,
      launchTemplate: origin.launchTemplate,
    };
  }
  return {
    kind: 'hands-off',
    why: 'the instance belongs to no Auto Scaling group with a launch template',
    nextSteps: [
      `Grow ${device} on ${origin.instanceId} by hand (aws ec2 modify-volume), then grow the filesystem.`,
    ],
  };
}

/**
 * Rolls the node's group to a bigger containerd volume: a new launch
 * template version, then the group's rollout. One roll per incident and
 * per group within the cooldown; nothing is written in dry-run. The roll
 * is claimed by the request (its EventBridge id) before anything else, so
 * a request for an older incident takes no lock; a retry of the same
 * request carries on from what the incident records (the version it made,
 * the rollout it started), and the side effects are safe to repeat anyway
 * (a ClientToken, a clientRequestToken, the refresh already under way).
 *
 * @example
 * ```ts
 * const emitted = await rollVolume(request, run, deps);
 * ```
 */
export async function rollVolume(
  request: VolumeRollRequestedDetail,
  run: RunMode,
  deps: RollVolumeDeps
): Promise<Emitted[]> {
  const base = decisionBase(request.cluster, request.node, {
    dryRun: run.dryRun || request.dryRun,
    replayName: run.replayName,
  });
  if (run.mode === 'off') {
    return [
      escalation(
        base,
        request.incidentId,
        'the kill switch is on: the volume roll was not done',
        [
          `Grow the volume of ${request.node.name}'s node group to at least ${request.minimumSizeGiB} GiB by hand.`,
        ]
      ),
    ];
  }
  const key = incidentKey(request.cluster, request.node.name, run);
  const incident = { key, incidentId: request.incidentId };
  try {
    return await decideRoll(request, base, run, deps);
  } catch (err) {
    if (!isPermanentFailure(err)) throw err;
    const failure = failureOf(
      err,
      'roll-volume',
      `the volume roll of ${request.node.name}'s node group`
    );
    await releaseLock(incident, run, deps);
    return base.dryRun
      ? [
          escalation(
            base,
            request.incidentId,
            failure.reason,
            failure.nextSteps
          ),
        ]
      : escalate(incident, failure.reason, failure.nextSteps, base, run, deps);
  }
}

async function decideRoll(
  request: VolumeRollRequestedDetail,
  base: DecisionBase,
  run: RunMode,
  deps: RollVolumeDeps
): Promise<Emitted[]> {
  const instanceId = request.node.instanceId;
  const key = incidentKey(request.cluster, request.node.name, run);
  const tell = (reason: string, nextSteps: string[]) =>
    base.dryRun
      ? [escalation(base, request.incidentId, reason, nextSteps)]
      : escalate(
          { key, incidentId: request.incidentId },
          reason,
          nextSteps,
          base,
          run,
          deps
        );
  if (instanceId === undefined) {
    return tell('the roll request names no instance', [
      `Find ${request.node.name}'s node group and grow its volume to ${request.minimumSizeGiB} GiB.`,
    ]);
  }
  const origin = await deps.nodes.origin(instanceId);
  // The device the request names (the one the prune measured), else the
  // instance's: the instructions name the device a roll would grow.
  const volume = containerdVolumeOf(origin, { decided: request });
  // The size the instructions ask for is the one pullmedic would roll to:
  // a whole number of GiB, never above the policy's maximum.
  const path = rollPathOf(
    origin,
    targetVolumeGiB(volume.sizeGiB ?? 0, deps.policy, request.cause) ??
      deps.policy.maxVolumeGiB,
    volume.deviceName
  );
  if (path.kind === 'hands-off') {
    return tell(
      `pullmedic will not roll this node's group: ${path.why}`,
      path.nextSteps
    );
  }
  const lt = path.launchTemplate;
  const data = await deps.launchTemplates.getVersion(lt.id, lt.version);
  // The request's device when it names one; else the template decides
  // (its nodeadm data volume), as the new nodes will be launched from it.
  const planned = containerdVolumeOf(origin, {
    decided: request,
    launchTemplate: data,
  });
  const plan = planVolumeGrowth(
    data,
    planned.deviceName,
    planned.sizeGiB,
    deps.policy,
    request.cause
  );
  if (plan.kind === 'no-change') {
    return tell(`the volume cannot grow: ${plan.reason}`, [
      `Find what fills ${plan.deviceName} on ${request.node.name} (sudo du -xsh /var/lib/containerd /var/log /var/lib/kubelet).`,
      "Use smaller images, or raise the maximum volume size in pullmedic's policy.",
    ]);
  }
  const groupName = path.kind === 'managed' ? path.nodegroup : path.group;
  if (
    !isRollAllowed(request.cluster, groupName, deps.policy.nodegroupAllowlist)
  ) {
    return tell(
      `node group ${groupName} is not on pullmedic's allowlist (${deps.policy.nodegroupAllowlist.join(', ')})`,
      [
        `Grow it by hand: a new version of ${lt.id} from version ${lt.version} with ${plan.deviceName} at ${plan.newSizeGiB} GiB (now ${plan.oldSizeGiB} GiB), then roll ${groupName} to that version.`,
        'Or add the group to PULLMEDIC_NODEGROUP_ALLOWLIST.',
      ]
    );
  }
  const target = { path, plan, data, groupName };
  if (base.dryRun) {
    // Decided, not done: the decision goes on the run's own timeline (a
    // replay's postmortem shows it); nothing is claimed, locked or counted.
    await deps.incidents.appendTimeline(key, request.incidentId, {
      at: deps.clock.now().toISOString(),
      step: 'roll-started',
      eventId: run.eventId,
      detail: `[dry-run] would create ${path.launchTemplate.id} version (none): ${plan.deviceName} ${plan.oldSizeGiB} → ${plan.newSizeGiB} GiB; ${path.kind === 'managed' ? 'eks-nodegroup-update' : 'asg-instance-refresh'}`,
    });
    return [startedEvent(target, request, base, null, null)];
  }
  if (
    deps.policy.rollApproval === 'approval' &&
    request.approvedBy === undefined
  ) {
    return propose(target, request, base, run, deps);
  }
  return roll(target, request, base, run, deps);
}

/** What a roll changes: the path, the new mappings, the group. */
interface RollTarget {
  path: Exclude<RollPath, { kind: 'hands-off' }>;
  plan: Extract<VolumePlan, { kind: 'grow' }>;
  data: LaunchTemplateData;
  groupName: string;
}

/** Approval mode: the incident waits for a person; on-call gets the command that approves. */
async function propose(
  { path, plan, groupName }: RollTarget,
  request: VolumeRollRequestedDetail,
  base: DecisionBase,
  run: RunMode,
  deps: RollVolumeDeps
): Promise<Emitted[]> {
  const key = incidentKey(request.cluster, request.node.name, run);
  const moved = await deps.incidents.advance(key, request.incidentId, {
    to: 'roll-proposed',
    by: run.eventId,
    due: null,
    entry: {
      at: deps.clock.now().toISOString(),
      step: 'roll-proposed',
      eventId: run.eventId,
      detail: `${groupName}: ${plan.deviceName} ${plan.oldSizeGiB} → ${plan.newSizeGiB} GiB, waiting for approval`,
    },
  });
  if (moved.outcome === 'refused') return [];
  const lt = path.launchTemplate;
  const proposed: VolumeRollProposedDetail = {
    ...base,
    incidentId: request.incidentId,
    nodegroup: { kind: path.kind, name: groupName },
    launchTemplate: { id: lt.id, version: lt.version },
    deviceName: plan.deviceName,
    oldSizeGiB: plan.oldSizeGiB,
    newSizeGiB: plan.newSizeGiB,
    approve: approvalCommand(request, deps.busName ?? 'pullmedic'),
  };
  return [{ detailType: DETAIL_TYPES.volumeRollProposed, detail: proposed }];
}

/**
 * The live roll, one recorded step at a time: the claim, the group's lock,
 * the hour's budget, the template version, the rollout, then the move to
 * roll-started with what was announced (the reconciler watches from it).
 */
async function roll(
  target: RollTarget,
  request: VolumeRollRequestedDetail,
  base: DecisionBase,
  run: RunMode,
  deps: RollVolumeDeps
): Promise<Emitted[]> {
  const { path, plan, data, groupName } = target;
  const key = incidentKey(request.cluster, request.node.name, run);
  const incident = { key, incidentId: request.incidentId };
  const by = run.eventId;
  const now = deps.clock.now();
  const current = await deps.incidents.get(key);
  // An escalated incident rolls only on a person's word (an approval).
  if (current?.step === 'escalated' && request.approvedBy === undefined) {
    return [];
  }
  const claim = await deps.incidents.advance(key, request.incidentId, {
    to: 'roll-starting',
    by,
    due: dueAfter('roll-starting', now, deps.policy.deadlines, key.scope),
    roll: { request },
  });
  // Another request's roll, a roll already done, or an incident replaced
  // since (an approval pasted from an old thread): nothing taken, nothing said.
  if (claim.outcome === 'refused') return [];
  // The claim set the roll; a retry finds what it recorded since.
  let progress = claim.incident.roll as RollProgress;
  const record = async (patch: Partial<RollProgress>) => {
    progress = { ...progress, ...patch };
    await deps.incidents.progress(key, request.incidentId, by, {
      roll: progress,
    });
  };

  const groupKey = `${request.cluster}/${groupName}`;
  const lock = await deps.locks.acquire(
    groupKey,
    request.incidentId,
    now,
    deps.policy.rollCooldownSeconds
  );
  if (!lock.acquired) {
    // The group is rolling for another incident: this one waits for that
    // rollout, and the reconciler looks again after the cooldown.
    await deps.incidents.advance(key, request.incidentId, {
      to: 'roll-requested',
      by,
      due: new Date(
        now.getTime() + deps.policy.rollCooldownSeconds * 1000
      ).toISOString(),
      entry: {
        at: now.toISOString(),
        step: 'roll-skipped',
        eventId: run.eventId,
        detail: `node group ${groupName} is already rolling for ${lock.heldBy}`,
      },
    });
    return [];
  }
  if (!progress.counted) {
    const budget = await deps.locks.countRoll(
      now,
      deps.policy.maxRollsPerHour,
      by
    );
    if (!budget.allowed) {
      await deps.locks.release(groupKey, request.incidentId, now);
      const lt = path.launchTemplate;
      return escalate(
        incident,
        `the volume roll of ${groupName} was not started: the fleet-wide limit of ${deps.policy.maxRollsPerHour} rolls an hour is reached`,
        [
          `Roll ${groupName} by hand when the rolls under way have ended: ${plan.deviceName} ${plan.oldSizeGiB} → ${plan.newSizeGiB} GiB, from launch template ${lt.id} version ${lt.version}.`,
          'Or raise PULLMEDIC_MAX_ROLLS_PER_HOUR, if this many groups should roll at once.',
        ],
        base,
        run,
        deps
      );
    }
    await record({ groupKey, counted: true });
  }
  const applied = await apply(
    path,
    plan,
    data,
    request,
    progress,
    record,
    deps
  );
  const started = startedEvent(
    target,
    request,
    base,
    applied.newVersion,
    applied.rollout
  );
  const at = deps.clock.now();
  await deps.incidents.advance(key, request.incidentId, {
    to: 'roll-started',
    by,
    due: dueAfter('roll-started', at, deps.policy.deadlines, key.scope),
    roll: { ...progress, started: started.detail },
    entry: {
      at: at.toISOString(),
      step: 'roll-started',
      eventId: run.eventId,
      detail: `created ${path.launchTemplate.id} version ${applied.newVersion}: ${plan.deviceName} ${plan.oldSizeGiB} → ${plan.newSizeGiB} GiB; ${applied.rollout.kind} ${applied.rollout.id}`,
    },
  });
  return [started];
}

/** Lets go of the group's lock an incident took, when its roll cannot go on. */
async function releaseLock(
  incident: { key: IncidentKey; incidentId: string },
  run: RunMode,
  deps: RollVolumeDeps
): Promise<void> {
  const current = await deps.incidents.get(incident.key);
  // Only a lock this request took, and only while nothing rolls.
  const roll = current?.stepBy === run.eventId ? current.roll : undefined;
  if (roll?.groupKey !== undefined && roll.rollout === undefined) {
    await deps.locks.release(
      roll.groupKey,
      incident.incidentId,
      deps.clock.now()
    );
  }
}

/** The `Volume Roll Started` event: what changed, where, and how to undo it. */
function startedEvent(
  { path, plan, groupName }: RollTarget,
  request: VolumeRollRequestedDetail,
  base: DecisionBase,
  newVersion: number | null,
  rollout: { kind: RolloutKind; id: string; autoRollback?: boolean } | null
): BusDetail<typeof DETAIL_TYPES.volumeRollStarted> {
  const lt = path.launchTemplate;
  const kind: RolloutKind =
    path.kind === 'managed' ? 'eks-nodegroup-update' : 'asg-instance-refresh';
  const started: VolumeRollStartedDetail = {
    ...base,
    incidentId: request.incidentId,
    nodegroup: { kind: path.kind, name: groupName },
    launchTemplate: {
      id: lt.id,
      ...(lt.name ? { name: lt.name } : {}),
      oldVersion: lt.version,
      newVersion,
    },
    deviceName: plan.deviceName,
    oldSizeGiB: plan.oldSizeGiB,
    newSizeGiB: plan.newSizeGiB,
    rollout: { kind, id: rollout?.id ?? null },
    undo:
      path.kind === 'managed'
        ? `aws eks update-nodegroup-version --cluster-name ${path.cluster} --nodegroup-name ${path.nodegroup} --launch-template id=${lt.id},version=${lt.version}`
        : rollout?.autoRollback === false
          ? `aws autoscaling start-instance-refresh --auto-scaling-group-name ${path.group} with version ${lt.version} of ${lt.id} as the desired configuration (Auto Scaling cannot roll this group back: its template takes the image from an SSM parameter or it runs $Latest/$Default)`
          : `aws autoscaling rollback-instance-refresh --auto-scaling-group-name ${path.group} (while it runs; once it has ended, start a refresh back to version ${lt.version} of ${lt.id})`,
  };
  return { detailType: DETAIL_TYPES.volumeRollStarted, detail: started };
}

type RolloutKind = 'eks-nodegroup-update' | 'asg-instance-refresh';

/**
 * The AWS CLI line that approves a proposed roll: it puts the request back
 * on the bus as `Volume Roll Approved` from pullmedic.operator. Only names
 * Kubernetes and AWS allow go into it, and single quotes are JSON-escaped,
 * so it pastes safely into a shell.
 *
 * @example
 * ```ts
 * approvalCommand(request, 'pullmedic-prod');
 * // "aws events put-events --entries '[{…}]'"
 * ```
 */
export function approvalCommand(
  request: VolumeRollRequestedDetail,
  busName: string
): string {
  const detail = {
    cluster: request.cluster,
    node: request.node,
    dryRun: false,
    incidentId: request.incidentId,
    reason: 'approved by on-call',
    currentSizeGiB: request.currentSizeGiB,
    minimumSizeGiB: request.minimumSizeGiB,
    cause: request.cause,
    // The approved roll grows the device this one would have.
    ...(request.deviceName && request.volumeRule
      ? { deviceName: request.deviceName, volumeRule: request.volumeRule }
      : {}),
    approvedBy: 'REPLACE-WITH-YOUR-NAME',
  };
  const entries = JSON.stringify([
    {
      EventBusName: busName,
      Source: SOURCES.operator,
      DetailType: DETAIL_TYPES.volumeRollApproved,
      Detail: JSON.stringify(detail),
    },
  ]).replace(/'/g, '\\u0027');
  return `aws events put-events --entries '${entries}'`;
}

/**
 * A short, stable token for the incident's roll: the idempotency token of
 * its side effects, and the mark in the template version's description
 * that lets a retry find the version it made.
 *
 * @example
 * ```ts
 * rollToken('live', 'prod/ip-10-0-1-149.ec2.internal/20261120T094059Z'); // 'pullmedic-3f0c…'
 * ```
 */
export function rollToken(scope: string, incidentId: string): string {
  // FNV-1a, 64 bits: stable across runs and processes, no dependency.
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(`${scope}|${incidentId}`)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return `pullmedic-${hash.toString(16).padStart(16, '0')}`;
}

/**
 * Creates the template version and starts the rollout, each only when the
 * incident does not record it yet, and each recorded as soon as it is done.
 */
async function apply(
  path: Exclude<RollPath, { kind: 'hands-off' }>,
  plan: Extract<VolumePlan, { kind: 'grow' }>,
  data: LaunchTemplateData,
  request: VolumeRollRequestedDetail,
  progress: RollProgress,
  record: (patch: Partial<RollProgress>) => Promise<void>,
  deps: RollVolumeDeps
): Promise<{
  newVersion: number;
  rollout: { kind: RolloutKind; id: string; autoRollback?: boolean };
}> {
  const lt = path.launchTemplate;
  // Only a live roll gets here.
  const token = rollToken('live', request.incidentId);
  let newVersion = progress.launchTemplate?.newVersion;
  if (newVersion === undefined) {
    newVersion =
      (await deps.launchTemplates.findVersion(lt.id, lt.version, token)) ??
      (await deps.launchTemplates.createVersion(
        lt.id,
        lt.version,
        plan.data,
        `${token} ${request.incidentId}: ${plan.deviceName} ${plan.oldSizeGiB} -> ${plan.newSizeGiB} GiB`.slice(
          0,
          255
        ),
        token
      ));
    await record({
      launchTemplate: { id: lt.id, oldVersion: lt.version, newVersion },
    });
  }
  if (progress.rollout !== undefined) {
    return { newVersion, rollout: progress.rollout };
  }
  const pinned = { id: lt.id, version: newVersion };
  let rollout: { kind: RolloutKind; id: string; autoRollback?: boolean };
  if (path.kind === 'managed') {
    rollout = {
      kind: 'eks-nodegroup-update',
      id: await deps.rollouts.updateManagedNodegroup(
        path.cluster,
        path.nodegroup,
        pinned,
        `${token}-v${newVersion}`
      ),
    };
  } else {
    // Auto Scaling cannot roll back to a template whose image is an SSM
    // parameter (RefreshPreferences.AutoRollback).
    const imageId = typeof data.ImageId === 'string' ? data.ImageId : '';
    const refresh = await deps.rollouts.refreshAutoScalingGroup(
      path.group,
      pinned,
      {
        autoRollback: !imageId.startsWith('resolve:ssm:'),
      }
    );
    rollout = {
      kind: 'asg-instance-refresh',
      id: refresh.id,
      autoRollback: refresh.autoRollback,
    };
  }
  await record({ rollout: { kind: rollout.kind, id: rollout.id } });
  return { newVersion, rollout };
}
