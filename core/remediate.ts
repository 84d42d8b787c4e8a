import { DETAIL_TYPES } from '../events/detail-types.ts';
import type {
  ImagePullFailureClassifiedDetail,
  IncidentEscalatedDetail,
  IncidentOpenedDetail,
  NodePruneRequestedDetail,
  VolumeRollRequestedDetail,
} from '../events/schemas.ts';
import {
  type DecisionBase,
  decisionBase,
  incidentIdOf,
  incidentKey,
  type RunMode,
} from './context.ts';
import { assertIsError } from './errors.ts';
import { joinWithoutCause } from './join-incident.ts';
import type { Policy } from './policy.ts';
import type {
  AmiFamily,
  Clock,
  Emitted,
  IncidentKey,
  IncidentRecord,
  IncidentStore,
  NodeCommands,
  NodeDirectory,
} from './ports.ts';
import { containerdVolumeOf } from './volumes.ts';

export interface RemediateDeps {
  incidents: IncidentStore;
  commands: NodeCommands;
  nodes: NodeDirectory;
  clock: Clock;
  policy: Policy;
}

/** The prune document's parameters: nothing in them comes from an event. */
export const pruneParameters = (dryRun: boolean): Record<string, string[]> => ({
  DryRun: [String(dryRun)],
});

/**
 * Acts on a disk_full classification: opens or joins the node's incident,
 * then sends the incident's one prune. Repeats of the failure, redeliveries
 * and replays of events the incident has already seen change nothing.
 *
 * @example
 * ```ts
 * const emitted = await remediate(classified, run, deps);
 * ```
 */
export async function remediate(
  classified: ImagePullFailureClassifiedDetail,
  run: RunMode,
  deps: RemediateDeps
): Promise<Emitted[]> {
  const emitted = await decide(classified, run, deps);
  const key = incidentKey(classified.cluster, classified.node.name, run);
  await recordEscalations(emitted, key, deps, run);
  return emitted;
}

async function decide(
  classified: ImagePullFailureClassifiedDetail,
  run: RunMode,
  deps: RemediateDeps
): Promise<Emitted[]> {
  if (!classified.causeKnown) {
    // A caller that cannot look again later gets the join as it stands.
    await joinWithoutCause(classified, run, deps, 0, 0);
    return [];
  }
  const { cluster, node } = classified;
  const base = baseOf(classified, run);
  if (run.mode === 'off') {
    return [
      escalation(
        base,
        undefined,
        'the kill switch is on: pullmedic did nothing',
        killSwitchSteps(node.name)
      ),
    ];
  }

  const key = incidentKey(cluster, node.name, run);
  const eventTime = classified.kubernetesEvent.time;
  const candidate = incidentCandidate(classified, key, run);
  const opening = await deps.incidents.openOrJoin(candidate, eventTime);
  if (opening.outcome === 'stale') return [];
  const incident = opening.incident;
  const emitted: Emitted[] = [];
  if (opening.outcome === 'opened') {
    const opened: IncidentOpenedDetail = {
      ...base,
      incidentId: incident.incidentId,
      openedAt: incident.openedAt,
      class: classified.class,
      evidence: classified.evidence,
      pod: classified.pod,
      image: classified.image,
    };
    emitted.push({ detailType: DETAIL_TYPES.incidentOpened, detail: opened });
  }

  // CRI-O stages blobs in /var/tmp: pruning images would not free it.
  // Told once, when the incident opens; later events only join.
  if (classified.remedy !== 'prune') {
    if (opening.outcome !== 'opened') return emitted;
    emitted.push(
      escalation(
        base,
        incident.incidentId,
        `the disk that filled (${classified.filesystem ?? 'unknown'}) is not freed by pruning images`,
        [
          `Free space under ${classified.path ?? '/var/tmp'} on ${node.name} (CRI-O stages image blobs in /var/tmp).`,
          "Point CRI-O's big_files_temporary_dir at the image volume, or grow the root volume.",
        ]
      )
    );
    return emitted;
  }

  // Looked up before the claim: a lookup that throws leaves the prune
  // unclaimed, so the redelivered event can still send it.
  const instanceId =
    node.instanceId ?? (await deps.nodes.instanceIdOf(node.name));
  const amiFamily =
    instanceId === undefined
      ? 'unknown'
      : await deps.nodes.amiFamilyOf(instanceId);
  const now = deps.clock.now().toISOString();
  if (!(await deps.incidents.claimPrune(key, incident.incidentId, now))) {
    // The incident's one prune is already under way: this event only joins.
    return emitted;
  }
  if (instanceId === undefined) {
    emitted.push(
      escalation(
        base,
        incident.incidentId,
        `no EC2 instance found for node ${node.name}`,
        [
          `Check that ${node.name} is an EC2 instance in this account and region.`,
          `Prune it by hand: sudo crictl rmi --prune on ${node.name}.`,
        ]
      )
    );
    return emitted;
  }
  try {
    emitted.push(
      await sendPrune(
        key,
        incident.incidentId,
        { instanceId, amiFamily },
        base,
        run,
        deps,
        now
      )
    );
  } catch (err) {
    // The prune is claimed: a redelivery would only join, so a failure here
    // would go unnoticed. A person hears of it now instead.
    assertIsError(err);
    emitted.push(
      escalation(
        base,
        incident.incidentId,
        `the prune of ${instanceId} could not be sent or recorded: ${err.message}`,
        [
          `Check that the SSM agent on ${instanceId} is online (aws ssm describe-instance-information).`,
          `Prune ${node.name} by hand: ${handPrune(amiFamily)}.`,
        ]
      )
    );
    return emitted;
  }
  if (run.dryRun) {
    // No command runs in dry-run, so no result will come back: decide the
    // volume question now from what EC2 says.
    emitted.push(
      ...(await dryRunRollDecision(incident.incidentId, instanceId, base, deps))
    );
  }
  return emitted;
}

/** The incident a disk_full event opens when its node has none. */
function incidentCandidate(
  classified: ImagePullFailureClassifiedDetail,
  key: IncidentKey,
  run: RunMode
): IncidentRecord {
  const { cluster, node } = classified;
  const eventTime = classified.kubernetesEvent.time;
  return {
    key,
    incidentId: incidentIdOf(cluster, node.name, eventTime),
    status: 'open',
    openedAt: eventTime,
    node,
    class: classified.class,
    evidence: classified.evidence,
    remedy: classified.remedy === 'prune' ? 'prune' : 'escalate',
    pod: classified.pod,
    image: classified.image,
    timeline: [
      {
        at: eventTime,
        step: 'classified',
        eventId: run.eventId,
        detail: `${classified.kubernetesEvent.reason}: disk_full (${classified.evidence ?? 'no evidence'})`,
      },
    ],
  };
}

/** How a person prunes a node of this family by hand. */
const handPrune = (amiFamily: AmiFamily): string =>
  amiFamily === 'bottlerocket'
    ? 'from its admin container, sudo sheltie, then ctr -n k8s.io images prune --all'
    : 'sudo crictl rmi --prune';

async function sendPrune(
  key: IncidentKey,
  incidentId: string,
  target: { instanceId: string; amiFamily: AmiFamily },
  base: DecisionBase,
  run: RunMode,
  deps: RemediateDeps,
  now: string
): Promise<Emitted> {
  const { instanceId, amiFamily } = target;
  const documentName = deps.commands.documentFor(amiFamily);
  if (documentName === undefined) {
    throw new Error(
      `no prune document for ${amiFamily} nodes is deployed (build infra/ssm/prune-${amiFamily}.yml and deploy the stack again)`
    );
  }
  const parameters = pruneParameters(false);
  const commandId = run.dryRun
    ? `dry-run-${incidentId}`
    : await deps.commands.sendPrune(
        instanceId,
        documentName,
        parameters,
        `pullmedic ${incidentId}`.slice(0, 100)
      );
  await deps.incidents.recordPruneCommand(key, incidentId, commandId);
  await deps.incidents.appendTimeline(key, incidentId, {
    at: now,
    step: 'prune-requested',
    eventId: run.eventId,
    detail: `${run.dryRun ? '[dry-run] would send' : 'sent'} ${documentName} to ${instanceId} (command ${commandId})`,
  });
  const requested: NodePruneRequestedDetail = {
    ...base,
    node: { ...base.node, instanceId },
    incidentId,
    commandId,
    documentName,
    parameters,
    requestedAt: now,
  };
  return { detailType: DETAIL_TYPES.nodePruneRequested, detail: requested };
}

async function dryRunRollDecision(
  incidentId: string,
  instanceId: string,
  base: DecisionBase,
  deps: RemediateDeps
): Promise<Emitted[]> {
  const origin = await deps.nodes.origin(instanceId);
  // The same decision prune-result takes, without a prune's report.
  const volume = containerdVolumeOf(origin);
  const sizeGiB = volume.sizeGiB;
  if (sizeGiB === undefined || sizeGiB >= deps.policy.minVolumeGiB) return [];
  const request: VolumeRollRequestedDetail = {
    ...base,
    node: { ...base.node, instanceId },
    incidentId,
    reason: `volume ${volume.deviceName} is ${sizeGiB} GiB, below the group minimum of ${deps.policy.minVolumeGiB} GiB`,
    currentSizeGiB: sizeGiB,
    minimumSizeGiB: deps.policy.minVolumeGiB,
    cause: 'below-minimum',
    deviceName: volume.deviceName,
    volumeRule: volume.rule,
  };
  return [{ detailType: DETAIL_TYPES.volumeRollRequested, detail: request }];
}

const baseOf = (
  classified: Pick<ImagePullFailureClassifiedDetail, 'cluster' | 'node'>,
  run: RunMode
): DecisionBase => decisionBase(classified.cluster, classified.node, run);

const killSwitchSteps = (node: string): string[] => [
  `Prune ${node} by hand (sudo crictl rmi --prune) or cordon it.`,
  'Turn pullmedic back on when ready: set its control parameter to live.',
];

/**
 * Writes each escalation of an incident into its timeline: what failed and
 * the first thing a person must do, so the record (and the postmortem read
 * from it) holds every step. Escalations with no incident (the kill switch
 * before one opened) are only notified.
 *
 * @example
 * ```ts
 * await recordEscalations(emitted, key, deps, run);
 * ```
 */
export async function recordEscalations(
  emitted: readonly Emitted[],
  key: IncidentKey,
  deps: { incidents: Pick<IncidentStore, 'appendTimeline'>; clock: Clock },
  run: Pick<RunMode, 'eventId'>
): Promise<void> {
  const at = deps.clock.now().toISOString();
  for (const { detailType, detail } of emitted) {
    if (detailType !== DETAIL_TYPES.incidentEscalated) continue;
    const d = detail as IncidentEscalatedDetail;
    if (d.incidentId === undefined) continue;
    await deps.incidents.appendTimeline(key, d.incidentId, {
      at,
      step: 'escalated',
      eventId: run.eventId,
      // nextSteps has one step at least (its schema says so).
      detail: `${d.reason}; next: ${d.nextSteps[0]}`,
    });
  }
}

/**
 * An `Incident Escalated` event: what failed and what a person must do.
 *
 * @example
 * ```ts
 * escalation(base, id, 'prune failed', ['Check the node']);
 * ```
 */
export function escalation(
  base: DecisionBase,
  incidentId: string | undefined,
  reason: string,
  nextSteps: string[]
): Emitted {
  const detail: IncidentEscalatedDetail = {
    ...base,
    ...(incidentId ? { incidentId } : {}),
    reason,
    nextSteps,
  };
  return { detailType: DETAIL_TYPES.incidentEscalated, detail };
}
