import { DETAIL_TYPES } from '../events/detail-types.ts';
import type {
  NodePruneCompletedDetail,
  PruneReport,
  SsmCommandInvocationDetail,
  VolumeRollRequestedDetail,
} from '../events/schemas.ts';
import { type DecisionBase, decisionBase, type RunMode } from './context.ts';
import type { Policy, RollCause } from './policy.ts';
import type {
  Clock,
  CommandInvocation,
  Emitted,
  IncidentRecord,
  IncidentStore,
  NodeCommands,
  NodeDirectory,
} from './ports.ts';
import { formatBytes, parsePruneReport } from './prune-report.ts';
import { escalation, recordEscalations } from './remediate.ts';
import { type ContainerdVolume, containerdVolumeOf } from './volumes.ts';

export interface PruneResultDeps {
  incidents: IncidentStore;
  commands: NodeCommands;
  nodes: NodeDirectory;
  clock: Clock;
  policy: Policy;
}

/** What the prune result means for the incident. */
export type PruneVerdict =
  | { outcome: 'recovering'; reason: string }
  | {
      outcome: 'roll';
      /** Why the roll is needed. */
      cause: RollCause;
      reason: string;
      commandError?: string;
    };

/**
 * Decides from one prune invocation: enough space and a big enough volume
 * → the pod recovers by itself; too little freed, a failed, timed-out or
 * undelivered command, or a volume below the group minimum → roll.
 *
 * @example
 * ```ts
 * decidePrune(invocation, report, 20, DEFAULT_POLICY);
 * // { outcome: 'roll', reason: 'volume … below the group minimum …' }
 * ```
 */
export function decidePrune(
  invocation: CommandInvocation,
  report: PruneReport | undefined,
  volumeSizeGiB: number | undefined,
  policy: Policy
): PruneVerdict {
  const ended =
    invocation.status === 'Success'
      ? undefined
      : `the prune command ended ${invocation.status}${invocation.statusDetails && invocation.statusDetails !== invocation.status ? ` (${invocation.statusDetails})` : ''}`;
  if (report === undefined) {
    const commandError = commandErrorOf(invocation, report);
    return {
      outcome: 'roll',
      cause: 'prune-failed',
      reason: ended ?? 'the prune printed no result line',
      ...(commandError ? { commandError } : {}),
    };
  }
  const verdict = decideOnReport(report, volumeSizeGiB, policy);
  if (ended === undefined) return verdict;
  // Ended in error, but measured: decided on the disk as it is now, and
  // the errors said.
  const commandError = commandErrorOf(invocation, report);
  return {
    ...verdict,
    reason: `${ended}: ${commandError ?? 'no error given'}; ${verdict.reason}`,
    ...(verdict.outcome === 'roll' && commandError ? { commandError } : {}),
  };
}

function decideOnReport(
  report: PruneReport,
  volumeSizeGiB: number | undefined,
  policy: Policy
): PruneVerdict {
  const freePercent =
    report.fsBytesTotal > 0
      ? (100 * report.freeBytesAfter) / report.fsBytesTotal
      : 0;
  if (freePercent < policy.minFreePercentAfterPrune) {
    return {
      outcome: 'roll',
      cause: 'too-little-freed',
      reason: `the prune freed ${formatBytes(report.bytesFreed)} but only ${freePercent.toFixed(0)}% is free (floor ${policy.minFreePercentAfterPrune}%)`,
    };
  }
  if (volumeSizeGiB !== undefined && volumeSizeGiB < policy.minVolumeGiB) {
    return {
      outcome: 'roll',
      cause: 'below-minimum',
      reason: `the prune freed ${formatBytes(report.bytesFreed)} (${freePercent.toFixed(0)}% free), but the volume is ${volumeSizeGiB} GiB, below the group minimum of ${policy.minVolumeGiB} GiB`,
    };
  }
  return {
    outcome: 'recovering',
    reason: `the prune freed ${formatBytes(report.bytesFreed)}; ${formatBytes(report.freeBytesAfter)} (${freePercent.toFixed(0)}%) is free`,
  };
}

const commandErrorOf = (
  invocation: CommandInvocation,
  report: PruneReport | undefined
): string | undefined => {
  const fromReport = report?.errors.join('; ');
  const stderr = invocation.stderr.trim().split('\n').slice(-5).join('\n');
  // A Success's status details say nothing about what went wrong.
  const details =
    invocation.status === 'Success' ? undefined : invocation.statusDetails;
  const text = fromReport || stderr || details;
  return text ? text.slice(0, 4096) : undefined;
};

/**
 * Handles the SSM status change of a prune command: reads the output the
 * way AWS keeps it (GetCommandInvocation), decides, and asks for a volume
 * roll when the prune is not enough.
 *
 * @example
 * ```ts
 * await handlePruneResult(detail, run, deps);
 * ```
 */
export async function handlePruneResult(
  detail: SsmCommandInvocationDetail,
  run: RunMode,
  deps: PruneResultDeps
): Promise<Emitted[]> {
  const commandId = detail['command-id'];
  const instanceId = detail['instance-id'];
  const incident = await deps.incidents.findByCommand(commandId);
  // A command of our document that no incident sent (sent by hand, or by
  // another deployment): not ours to act on.
  if (incident === undefined) return [];

  const invocation = await invocationOf(detail, deps);
  // The script prints its result line last, and exits non-zero after it
  // when something went wrong (a sandbox image it could not restore, an
  // image it could not remove): a Failed command's line is still the
  // measure of what the disk holds now, and of the pause image.
  const report = parsePruneReport(invocation.stdout);
  const origin = await deps.nodes.origin(instanceId);
  // The volume the prune measured, where its line says; the group minimum
  // is checked, and the roll asked, on that one.
  const volume = containerdVolumeOf(origin, { report });
  const verdict = decidePrune(invocation, report, volume.sizeGiB, deps.policy);

  const base = decisionBase(
    incident.key.cluster,
    { ...incident.node, instanceId },
    run
  );
  const completed: NodePruneCompletedDetail = {
    ...base,
    incidentId: incident.incidentId,
    commandId,
    status: invocation.status,
    report: report ?? null,
    outcome: verdict.outcome,
    reason: verdict.reason,
    commandError: verdict.outcome === 'roll' ? verdict.commandError : undefined,
    ...(volume.sizeGiB !== undefined ? { volumeSizeGiB: volume.sizeGiB } : {}),
    volumeDeviceName: volume.deviceName,
    volumeRule: volume.rule,
  };
  const now = deps.clock.now().toISOString();
  await deps.incidents.appendTimeline(incident.key, incident.incidentId, {
    at: now,
    step: 'prune-completed',
    eventId: run.eventId,
    detail: `${invocation.status}: ${verdict.reason}`,
  });
  const emitted: Emitted[] = [
    { detailType: DETAIL_TYPES.nodePruneCompleted, detail: completed },
  ];
  if (report && !report.pauseImageIntact) {
    emitted.push(
      escalation(
        base,
        incident.incidentId,
        `the pause image ${report.pauseImage ?? ''} is missing after the prune: new pods on ${incident.node.name} cannot start`,
        [
          `Restore the sandbox image on ${incident.node.name} (AL2: sudo systemctl restart sandbox-image; else pull it with ctr -n k8s.io images pull using the ECR credentials).`,
          `Cordon ${incident.node.name} until it is back.`,
        ]
      )
    );
  }
  await recordEscalations(emitted, incident.key, deps, run);
  if (verdict.outcome === 'roll') {
    const roll = await rollRequest(incident, verdict, volume, base, deps, now);
    if (roll) emitted.push(roll);
  }
  return emitted;
}

async function invocationOf(
  detail: SsmCommandInvocationDetail,
  deps: PruneResultDeps
): Promise<CommandInvocation> {
  // Commands that never reached the agent have no invocation output to
  // read; the event's status is all there is.
  if (
    ['Undeliverable', 'DeliveryTimedOut', 'Terminated'].includes(detail.status)
  ) {
    return {
      status: detail.status,
      statusDetails: detail.status,
      stdout: '',
      stderr: '',
    };
  }
  return deps.commands.getInvocation(
    detail['command-id'],
    detail['instance-id']
  );
}

async function rollRequest(
  incident: IncidentRecord,
  verdict: Extract<PruneVerdict, { outcome: 'roll' }>,
  volume: ContainerdVolume,
  base: DecisionBase,
  deps: PruneResultDeps,
  now: string
): Promise<Emitted | undefined> {
  if (
    !(await deps.incidents.claimRoll(incident.key, incident.incidentId, now))
  ) {
    return undefined;
  }
  const request: VolumeRollRequestedDetail = {
    ...base,
    incidentId: incident.incidentId,
    reason: verdict.reason,
    ...(volume.sizeGiB !== undefined ? { currentSizeGiB: volume.sizeGiB } : {}),
    minimumSizeGiB: deps.policy.minVolumeGiB,
    cause: verdict.cause,
    deviceName: volume.deviceName,
    volumeRule: volume.rule,
  };
  return { detailType: DETAIL_TYPES.volumeRollRequested, detail: request };
}
