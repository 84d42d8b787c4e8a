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
import { assertIsError } from './errors.ts';
import { planVolumeGrowth, type VolumePlan } from './launch-template.ts';
import { isRollAllowed, type Policy, targetVolumeGiB } from './policy.ts';
import type {
  Clock,
  Emitted,
  IncidentStore,
  LaunchTemplateRef,
  LaunchTemplates,
  NodeDirectory,
  NodeOrigin,
  RollLocks,
  Rollouts,
} from './ports.ts';
import { escalation, recordEscalations } from './remediate.ts';
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
 * template version, then the group's rollout. One roll per group within
 * the cooldown; nothing is written in dry-run.
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
  const emitted = await decideRoll(request, run, deps);
  const key = incidentKey(request.cluster, request.node.name, run);
  await recordEscalations(emitted, key, deps, run);
  return emitted;
}

async function decideRoll(
  request: VolumeRollRequestedDetail,
  run: RunMode,
  deps: RollVolumeDeps
): Promise<Emitted[]> {
  const instanceId = request.node.instanceId;
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
  if (instanceId === undefined) {
    return [
      escalation(
        base,
        request.incidentId,
        'the roll request names no instance',
        [
          `Find ${request.node.name}'s node group and grow its volume to ${request.minimumSizeGiB} GiB.`,
        ]
      ),
    ];
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
    return [
      escalation(
        base,
        request.incidentId,
        `pullmedic will not roll this node's group: ${path.why}`,
        path.nextSteps
      ),
    ];
  }
  return roll(path, origin, request, base, run, deps);
}

async function roll(
  path: Exclude<RollPath, { kind: 'hands-off' }>,
  origin: NodeOrigin,
  request: VolumeRollRequestedDetail,
  base: DecisionBase,
  run: RunMode,
  deps: RollVolumeDeps
): Promise<Emitted[]> {
  const lt = path.launchTemplate;
  const key = incidentKey(request.cluster, request.node.name, run);
  const data = await deps.launchTemplates.getVersion(lt.id, lt.version);
  // The request's device when it names one; else the template decides
  // (its nodeadm data volume), as the new nodes will be launched from it.
  const volume = containerdVolumeOf(origin, {
    decided: request,
    launchTemplate: data,
  });
  const plan = planVolumeGrowth(
    data,
    volume.deviceName,
    volume.sizeGiB,
    deps.policy,
    request.cause
  );
  if (plan.kind === 'no-change') {
    return [
      escalation(
        base,
        request.incidentId,
        `the volume cannot grow: ${plan.reason}`,
        [
          `Find what fills ${plan.deviceName} on ${request.node.name} (sudo du -xsh /var/lib/containerd /var/log /var/lib/kubelet).`,
          "Use smaller images, or raise the maximum volume size in pullmedic's policy.",
        ]
      ),
    ];
  }
  const groupName = path.kind === 'managed' ? path.nodegroup : path.group;
  const refused = refuse(groupName, path, plan, request, base, deps);
  if (refused !== undefined) return [refused];
  const now = deps.clock.now();
  if (!base.dryRun) {
    const refusal = await guard(groupName, request, key, deps, now);
    if (refusal !== undefined) {
      await deps.incidents.appendTimeline(key, request.incidentId, {
        at: now.toISOString(),
        step: 'roll-skipped',
        eventId: run.eventId,
        detail: refusal.why,
      });
      return refusalNotice(refusal, groupName, lt, plan, request, base);
    }
  }
  let applied: { newVersion: number | null; rolloutId: string | null };
  try {
    applied = await apply(path, plan, request, base.dryRun, deps);
  } catch (err) {
    // The roll is claimed and will not be retried (a retry could roll the
    // group twice): a person finishes or undoes it.
    assertIsError(err);
    return [
      escalation(
        base,
        request.incidentId,
        `the volume roll of ${groupName} failed: ${err.message}`,
        [
          `Check the launch template ${lt.id} for a version pullmedic created (description "pullmedic ${request.incidentId}…") and the node group's updates.`,
          `Finish by hand: point ${groupName} at a version with ${plan.deviceName} at ${plan.newSizeGiB} GiB and roll it, or leave it at version ${lt.version}.`,
        ]
      ),
    ];
  }
  const { newVersion, rolloutId } = applied;
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
    rollout: {
      kind:
        path.kind === 'managed'
          ? 'eks-nodegroup-update'
          : 'asg-instance-refresh',
      id: rolloutId,
    },
    undo:
      path.kind === 'managed'
        ? `aws eks update-nodegroup-version --cluster-name ${path.cluster} --nodegroup-name ${path.nodegroup} --launch-template id=${lt.id},version=${lt.version}`
        : `aws autoscaling rollback-instance-refresh --auto-scaling-group-name ${path.group} (while it runs; once it has ended, start a refresh back to version ${lt.version} of ${lt.id})`,
  };
  await deps.incidents.appendTimeline(key, request.incidentId, {
    at: now.toISOString(),
    step: 'roll-started',
    eventId: run.eventId,
    detail:
      `${base.dryRun ? '[dry-run] would create' : 'created'} ${lt.id} version ${newVersion ?? '(none)'}: ${plan.deviceName} ${plan.oldSizeGiB} → ${plan.newSizeGiB} GiB; ${started.rollout.kind} ${rolloutId ?? ''}`.trim(),
  });
  return [{ detailType: DETAIL_TYPES.volumeRollStarted, detail: started }];
}

/**
 * What on-call hears of a roll the guard refused. Another roll of the
 * group, or this one again: nothing. Over the fleet's budget the node is
 * left as it is, and a person must hear of it.
 */
function refusalNotice(
  refusal: { kind: 'already' | 'over-budget'; why: string },
  groupName: string,
  lt: LaunchTemplateRef,
  plan: Extract<VolumePlan, { kind: 'grow' }>,
  request: VolumeRollRequestedDetail,
  base: DecisionBase
): Emitted[] {
  if (refusal.kind === 'already') return [];
  return [
    escalation(
      base,
      request.incidentId,
      `the volume roll of ${groupName} was not started: ${refusal.why}`,
      [
        `Roll ${groupName} by hand when the rolls under way have ended: ${plan.deviceName} ${plan.oldSizeGiB} → ${plan.newSizeGiB} GiB, from launch template ${lt.id} version ${lt.version}.`,
        'Or raise PULLMEDIC_MAX_ROLLS_PER_HOUR, if this many groups should roll at once.',
      ]
    ),
  ];
}

/**
 * Why the roll must not start now, or undefined when it may: one roll per
 * incident (a redelivered request), one roll per node group within the
 * cooldown (a second incident on the group during its rollout), and the
 * fleet's budget of rolls an hour. A roll refused by the budget lets go of
 * the group's lock, so the group's next incident may roll.
 */
async function guard(
  groupName: string,
  request: VolumeRollRequestedDetail,
  key: ReturnType<typeof incidentKey>,
  deps: RollVolumeDeps,
  now: Date
): Promise<{ kind: 'already' | 'over-budget'; why: string } | undefined> {
  const groupKey = `${request.cluster}/${groupName}`;
  const lock = await deps.locks.acquire(
    groupKey,
    request.incidentId,
    now,
    deps.policy.rollCooldownSeconds
  );
  if (!lock.acquired) {
    return {
      kind: 'already',
      why: `node group ${groupName} is already rolling for ${lock.heldBy}`,
    };
  }
  const first = await deps.incidents.claimRollStart(
    key,
    request.incidentId,
    now.toISOString()
  );
  if (!first)
    return { kind: 'already', why: 'this incident already started its roll' };
  const budget = await deps.locks.countRoll(now, deps.policy.maxRollsPerHour);
  if (budget.allowed) return undefined;
  await deps.locks.release(groupKey, request.incidentId, now);
  return {
    kind: 'over-budget',
    why: `the fleet-wide limit of ${deps.policy.maxRollsPerHour} rolls an hour is reached`,
  };
}

/**
 * An escalation or a proposal instead of the roll: the node group is not
 * on the allowlist, or rolls wait for a person's approval.
 */
function refuse(
  groupName: string,
  path: Exclude<RollPath, { kind: 'hands-off' }>,
  plan: Extract<VolumePlan, { kind: 'grow' }>,
  request: VolumeRollRequestedDetail,
  base: DecisionBase,
  deps: RollVolumeDeps
): Emitted | undefined {
  const lt = path.launchTemplate;
  if (
    !isRollAllowed(request.cluster, groupName, deps.policy.nodegroupAllowlist)
  ) {
    return escalation(
      base,
      request.incidentId,
      `node group ${groupName} is not on pullmedic's allowlist (${deps.policy.nodegroupAllowlist.join(', ')})`,
      [
        `Grow it by hand: a new version of ${lt.id} from version ${lt.version} with ${plan.deviceName} at ${plan.newSizeGiB} GiB (now ${plan.oldSizeGiB} GiB), then roll ${groupName} to that version.`,
        'Or add the group to PULLMEDIC_NODEGROUP_ALLOWLIST.',
      ]
    );
  }
  if (
    deps.policy.rollApproval !== 'approval' ||
    request.approvedBy ||
    base.dryRun
  ) {
    return undefined;
  }
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
  return { detailType: DETAIL_TYPES.volumeRollProposed, detail: proposed };
}

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

/** Creates the template version and starts the rollout (not in dry-run). */
async function apply(
  path: Exclude<RollPath, { kind: 'hands-off' }>,
  plan: Extract<VolumePlan, { kind: 'grow' }>,
  request: VolumeRollRequestedDetail,
  dryRun: boolean,
  deps: RollVolumeDeps
): Promise<{ newVersion: number | null; rolloutId: string | null }> {
  if (dryRun) return { newVersion: null, rolloutId: null };
  const lt = path.launchTemplate;
  const newVersion = await deps.launchTemplates.createVersion(
    lt.id,
    lt.version,
    plan.data,
    `pullmedic ${request.incidentId}: ${plan.deviceName} ${plan.oldSizeGiB} -> ${plan.newSizeGiB} GiB`.slice(
      0,
      255
    )
  );
  const target = { id: lt.id, version: newVersion };
  const rolloutId =
    path.kind === 'managed'
      ? await deps.rollouts.updateManagedNodegroup(
          path.cluster,
          path.nodegroup,
          target
        )
      : await deps.rollouts.refreshAutoScalingGroup(path.group, target);
  return { newVersion, rolloutId };
}
