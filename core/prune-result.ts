import { DETAIL_TYPES } from '../events/detail-types.ts';
import type {
  NodePruneCompletedDetail,
  PodRestartRequestedDetail,
  PruneReport,
  SsmCommandInvocationDetail,
  VolumeRollRequestedDetail,
} from '../events/schemas.ts';
import { type DecisionBase, decisionBase, type RunMode } from './context.ts';
import { isPermanentFailure } from './errors.ts';
import {
  escalate,
  escalation,
  failureOf,
  noteEscalations,
} from './escalation.ts';
import { dueAfter, type IncidentStep } from './incident-steps.ts';
import type { Policy, RollCause } from './policy.ts';
import type {
  Clock,
  CommandInvocation,
  Emitted,
  IncidentRecord,
  IncidentStore,
  Move,
  NodeCommands,
  NodeDirectory,
} from './ports.ts';
import { parsePruneReport } from './prune-report.ts';
import { intentOfComment } from './remediate.ts';
import { podRefOf, restartRequest } from './restart-request.ts';
import { type ContainerdVolume, containerdVolumeOf } from './volumes.ts';
import { formatBytes } from './words.ts';

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
    }
  /** The prune never ran; the volume is at the group minimum: a person looks. */
  | { outcome: 'escalate'; reason: string; commandError?: string };

/** The statuses an invocation ends in; the others are on the way there. */
export const TERMINAL_STATUSES = [
  'Success',
  'Failed',
  'TimedOut',
  'Cancelled',
] as const;

/**
 * Status details (GetCommandInvocation's StatusDetails) of a command that
 * never reached the script: the agent did not get it, or could not run it.
 */
const NOT_RUN_DETAILS = new Set([
  'Undeliverable',
  'DeliveryTimedOut',
  'Terminated',
  'InvalidPlatform',
  'AccessDenied',
]);

/** Every line the prune scripts log starts with this. */
const SCRIPT_MARK = /pullmedic-prune/;

/**
 * Whether a prune without a result line never ran: SSM could not deliver
 * it, or the agent could not even write the script (its files are under
 * /var/lib/amazon/ssm, on the root volume that is full), so not a line of
 * the script's own appears. Such a failure says nothing about what a prune
 * would free.
 *
 * @example
 * ```ts
 * pruneNeverRan({ status: 'Failed', stdout: '', stderr: 'no space left on device' }, undefined); // true
 * ```
 */
export function pruneNeverRan(
  invocation: CommandInvocation,
  report: PruneReport | undefined
): boolean {
  if (report !== undefined) return false;
  if (NOT_RUN_DETAILS.has(invocation.statusDetails ?? '')) return true;
  // Timed out or cancelled while it ran; a Failed run says so in its log.
  return (
    invocation.status === 'Failed' &&
    !SCRIPT_MARK.test(`${invocation.stdout}\n${invocation.stderr}`)
  );
}

/**
 * Decides from one prune invocation: enough space and a big enough volume
 * → the pod recovers by itself; too little freed, a failed or timed-out
 * run, or a volume below the group minimum → roll. A prune that never ran
 * is not a reason to roll: unless the volume is below the minimum, a
 * person is told.
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
    invocation.status === 'Success' ? undefined : endedOf(invocation);
  if (report === undefined) {
    return decideWithoutReport(invocation, ended, volumeSizeGiB, policy);
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

/** How a command that did not succeed ended, in words. */
const endedOf = (invocation: CommandInvocation): string =>
  `the prune command ended ${invocation.status}${invocation.statusDetails && invocation.statusDetails !== invocation.status ? ` (${invocation.statusDetails})` : ''}`;

/** No result line: a prune that failed rolls; one that never ran does not. */
function decideWithoutReport(
  invocation: CommandInvocation,
  ended: string | undefined,
  volumeSizeGiB: number | undefined,
  policy: Policy
): PruneVerdict {
  const commandError = commandErrorOf(invocation, undefined);
  const error = commandError ? { commandError } : {};
  if (!pruneNeverRan(invocation, undefined)) {
    return {
      outcome: 'roll',
      cause: 'prune-failed',
      reason: ended ?? 'the prune printed no result line',
      ...error,
    };
  }
  // Never ran means it did not end in Success: it ended some other way.
  const why = `${endedOf(invocation)}: the SSM agent could not run the prune; the disk may be too full for it`;
  return volumeSizeGiB !== undefined && volumeSizeGiB < policy.minVolumeGiB
    ? {
        outcome: 'roll',
        cause: 'below-minimum',
        reason: `${why}, and the volume is ${volumeSizeGiB} GiB, below the group minimum of ${policy.minVolumeGiB} GiB`,
        ...error,
      }
    : { outcome: 'escalate', reason: why, ...error };
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

/** What concluding a prune asks of the caller. */
export type PruneOutcome =
  | { kind: 'done'; emitted: Emitted[] }
  /** The result is not final yet, or the prune never ran: look again later. */
  | { kind: 'look-again'; seconds: number };

/**
 * Handles the SSM status change of a prune command: finds the incident
 * (through the command's pointer, or, when the status overtook it, through
 * the intent id in the command's Comment), reads the output the way AWS
 * keeps it (GetCommandInvocation) and concludes the prune.
 *
 * @example
 * ```ts
 * const outcome = await handlePruneResult(detail, run, deps);
 * ```
 */
export async function handlePruneResult(
  detail: SsmCommandInvocationDetail,
  run: RunMode,
  deps: PruneResultDeps
): Promise<PruneOutcome> {
  const commandId = detail['command-id'];
  const incident =
    (await deps.incidents.findByCommand(commandId)) ??
    (await incidentOfComment(commandId, deps));
  // A command of our document that no incident sent (sent by hand, or by
  // another deployment): not ours to act on.
  if (incident === undefined) return { kind: 'done', emitted: [] };
  return concludePrune(
    incident,
    { commandId, instanceId: detail['instance-id'] },
    run,
    deps
  );
}

/** The incident of a command whose status arrived before its pointer. */
async function incidentOfComment(
  commandId: string,
  deps: PruneResultDeps
): Promise<IncidentRecord | undefined> {
  const intentId = intentOfComment(await deps.commands.commentOf(commandId));
  if (intentId === undefined) return undefined;
  const incident = await deps.incidents.findByIntent(intentId);
  if (incident !== undefined) {
    await deps.incidents.pointCommand(
      incident.key,
      incident.incidentId,
      commandId
    );
  }
  return incident;
}

/**
 * Concludes an incident's prune from its invocation: the verdict, the
 * incident's next step (one conditional move: of the status event and
 * the reconciler, one concludes it) and what to emit. The reconciler calls
 * it too, for a prune whose status event never came. In dry-run or with
 * the kill switch on, a live incident is not moved: it stays due, and is
 * concluded when pullmedic runs live again.
 *
 * @example
 * ```ts
 * await concludePrune(incident, { commandId, instanceId }, run, deps);
 * ```
 */
export async function concludePrune(
  incident: IncidentRecord,
  command: { commandId: string; instanceId: string },
  run: RunMode,
  deps: PruneResultDeps,
  commit: (move: Move, emitted: Emitted[]) => Promise<boolean> = (move) =>
    deps.incidents
      .advance(incident.key, incident.incidentId, move)
      .then((a) => a.outcome !== 'refused')
): Promise<PruneOutcome> {
  if (run.mode === 'off') return { kind: 'done', emitted: [] };
  const base = decisionBase(
    incident.key.cluster,
    { ...incident.node, instanceId: command.instanceId },
    run
  );
  try {
    return await conclude(incident, command, base, run, deps, commit);
  } catch (err) {
    if (!isPermanentFailure(err)) throw err;
    const failure = failureOf(
      err,
      'prune-result',
      `the prune result of ${incident.node.name}`
    );
    const emitted = await escalate(
      incident,
      failure.reason,
      failure.nextSteps,
      base,
      run,
      deps
    );
    return { kind: 'done', emitted };
  }
}

async function conclude(
  incident: IncidentRecord,
  command: { commandId: string; instanceId: string },
  base: DecisionBase,
  run: RunMode,
  deps: PruneResultDeps,
  commit: (move: Move, emitted: Emitted[]) => Promise<boolean>
): Promise<PruneOutcome> {
  const invocation = await deps.commands.getInvocation(
    command.commandId,
    command.instanceId
  );
  const { lookAgainSeconds } = deps.policy.deadlines;
  // The status event can run ahead of GetCommandInvocation.
  if (!(TERMINAL_STATUSES as readonly string[]).includes(invocation.status)) {
    return { kind: 'look-again', seconds: lookAgainSeconds };
  }
  // The script prints its result line last, and exits non-zero after it
  // when something went wrong (a sandbox image it could not restore, an
  // image it could not remove): a Failed command's line is still the
  // measure of what the disk holds now, and of the pause image.
  const report = parsePruneReport(invocation.stdout);
  const live = incident.key.scope === 'live' && !run.dryRun;
  if (live && pruneNeverRan(invocation, report)) {
    if (await lookedAgain(incident, deps)) {
      return { kind: 'look-again', seconds: lookAgainSeconds };
    }
  }
  const origin = await deps.nodes.origin(command.instanceId);
  // The volume the prune measured, where its line says; the group minimum
  // is checked, and the roll asked, on that one.
  const volume = containerdVolumeOf(origin, { report });
  const verdict = decidePrune(invocation, report, volume.sizeGiB, deps.policy);
  const emitted = verdictEvents(
    incident,
    command,
    invocation.status,
    report,
    verdict,
    volume,
    base,
    deps
  );
  // Dry-run decides and reports; it never moves a live incident (nor uses
  // up its one roll).
  if (!live) return { kind: 'done', emitted };
  const now = deps.clock.now();
  const to = STEP_OF[verdict.outcome];
  const request = emitted.find(
    (e) => e.detailType === DETAIL_TYPES.volumeRollRequested
  )?.detail as VolumeRollRequestedDetail | undefined;
  const restart = emitted.find(
    (e) => e.detailType === DETAIL_TYPES.podRestartRequested
  )?.detail as PodRestartRequestedDetail | undefined;
  const committed = await commit(
    {
      to,
      by: run.eventId,
      due: dueAfter(to, now, deps.policy.deadlines, incident.key.scope),
      ...(request ? { roll: { request } } : {}),
      entry: {
        at: now.toISOString(),
        step: 'prune-completed',
        eventId: run.eventId,
        detail: `${invocation.status}: ${verdict.reason}`,
        // A rollout that follows asks again only for pods not named here.
        ...(restart ? { restarts: restart.pods.map(podRefOf) } : {}),
      },
    },
    emitted
  );
  // Concluded by another request already (the status event and the
  // reconciler, or two status events): theirs was said.
  if (!committed) return { kind: 'done', emitted: [] };
  // The never-ran verdict is the step itself; the pause image is a note
  // beside whatever step the incident takes.
  if (to !== 'escalated') {
    await noteEscalations(emitted, incident, deps, run);
  }
  return { kind: 'done', emitted };
}

const STEP_OF = {
  recovering: 'recovering',
  roll: 'roll-requested',
  escalate: 'escalated',
} as const satisfies Record<PruneVerdict['outcome'], IncidentStep>;

/**
 * A prune that never ran is looked at once more after a short wait (the
 * agent may have been restarting): true when this is that first time, and
 * the incident now waits for the second look.
 */
async function lookedAgain(
  incident: IncidentRecord,
  deps: PruneResultDeps
): Promise<boolean> {
  const looks = incident.prune?.looks ?? 0;
  if (looks >= 1 || incident.prune === undefined) return false;
  const { lookAgainSeconds } = deps.policy.deadlines;
  await deps.incidents.progress(
    incident.key,
    incident.incidentId,
    incident.stepBy as string,
    {
      prune: { ...incident.prune, looks: looks + 1 },
      due: new Date(
        deps.clock.now().getTime() + lookAgainSeconds * 1000
      ).toISOString(),
    }
  );
  return true;
}

/** Node Prune Completed, and what the verdict asks of others. */
function verdictEvents(
  incident: IncidentRecord,
  command: { commandId: string },
  status: string,
  report: PruneReport | undefined,
  verdict: PruneVerdict,
  volume: ContainerdVolume,
  base: DecisionBase,
  deps: PruneResultDeps
): Emitted[] {
  const completed: NodePruneCompletedDetail = {
    ...base,
    incidentId: incident.incidentId,
    commandId: command.commandId,
    status,
    report: report ?? null,
    outcome: verdict.outcome,
    reason: verdict.reason,
    commandError:
      verdict.outcome !== 'recovering' ? verdict.commandError : undefined,
    ...(volume.sizeGiB !== undefined ? { volumeSizeGiB: volume.sizeGiB } : {}),
    volumeDeviceName: volume.deviceName,
    volumeRule: volume.rule,
  };
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
  if (verdict.outcome === 'roll') {
    emitted.push(rollRequest(incident, verdict, volume, base, deps));
  }
  if (verdict.outcome === 'escalate') {
    emitted.push(
      escalation(base, incident.incidentId, verdict.reason, [
        `Free space on ${incident.node.name}'s root volume by hand (journalctl --vacuum-size=200M; sudo crictl rmi --prune), then check the SSM agent: sudo systemctl status amazon-ssm-agent.`,
        `Or cordon and drain ${incident.node.name} and let its group replace it.`,
      ])
    );
  }
  if (roomNow(report, verdict)) {
    // The kubelet would retry on its back-off (up to five minutes): the
    // stuck pods are restarted now, and pull at once.
    const restart = restartRequest(
      incident,
      base,
      'prune',
      deps.policy.maxPodRestarts,
      deps.clock
    );
    if (restart) emitted.push(restart);
  }
  return emitted;
}

/**
 * Whether the prune left room to pull now: it measured the disk, the
 * sandbox image is there to start pods, and the verdict is recovery, or a
 * roll only because the volume is below the group minimum (the next fill
 * is what the roll is for).
 */
const roomNow = (
  report: PruneReport | undefined,
  verdict: PruneVerdict
): boolean =>
  report?.pauseImageIntact === true &&
  (verdict.outcome === 'recovering' ||
    (verdict.outcome === 'roll' && verdict.cause === 'below-minimum'));

function rollRequest(
  incident: IncidentRecord,
  verdict: Extract<PruneVerdict, { outcome: 'roll' }>,
  volume: ContainerdVolume,
  base: DecisionBase,
  deps: PruneResultDeps
): Emitted {
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
