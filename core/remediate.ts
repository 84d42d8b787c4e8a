import { DETAIL_TYPES } from '../events/detail-types.ts';
import type {
  ImagePullFailureClassifiedDetail,
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
import { isPermanentFailure } from './errors.ts';
import { escalate, escalation, failureOf } from './escalation.ts';
import { dueAfter } from './incident-steps.ts';
import { type BatchIncidents, joinWithoutCause } from './join-incident.ts';
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
  OpenResult,
  PruneIntent,
} from './ports.ts';
import { containerdVolumeOf } from './volumes.ts';

export interface RemediateDeps {
  incidents: IncidentStore;
  commands: NodeCommands;
  nodes: NodeDirectory;
  clock: Clock;
  policy: Policy;
  /**
   * The incident store as the records of one batch share it (batchShared
   * in join-incident.ts): an open incident read there is joined without a
   * write, and a pod noted there is not noted again. Without it, every
   * event tries the opening write.
   */
  batch?: { incidents: BatchIncidents };
}

/** The prune document's parameters: nothing in them comes from an event. */
export const pruneParameters = (dryRun: boolean): Record<string, string[]> => ({
  DryRun: [String(dryRun)],
});

/**
 * Acts on a disk_full classification: opens or joins the node's incident,
 * then sends the incident's one prune. Repeats of the failure, redeliveries
 * and replays of events the incident has already seen change nothing; a
 * retry of the request that claimed the prune carries on from where it
 * stopped (it finds a command it sent but did not record by its intent id).
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
  if (!classified.causeKnown) {
    // A caller that cannot look again later gets the join as it stands.
    await joinWithoutCause(classified, run, deps, 0, 0);
    return [];
  }
  const base = baseOf(classified, run);
  if (run.mode === 'off') {
    return [
      escalation(
        base,
        undefined,
        'the kill switch is on: pullmedic did nothing',
        killSwitchSteps(classified.node.name)
      ),
    ];
  }
  const key = incidentKey(classified.cluster, classified.node.name, run);
  const opening = await openOrJoin(classified, key, run, deps);
  if (opening.outcome === 'stale') return [];
  const incident = opening.incident;
  // A retry of the event that opened the incident finds it "joined": the
  // first entry of its timeline says whose it is.
  const openedHere =
    opening.outcome === 'opened' ||
    incident.timeline[0]?.eventId === run.eventId;
  const emitted: Emitted[] = openedHere
    ? [opened(classified, incident, base)]
    : [];
  if (!openedHere) await notePod(classified, incident, key, deps);
  try {
    emitted.push(
      ...(await act(classified, incident, openedHere, base, run, deps))
    );
  } catch (err) {
    if (!isPermanentFailure(err)) throw err;
    const failure = failureOf(
      err,
      'remediate',
      `the prune of ${classified.node.name}`
    );
    emitted.push(
      ...(await escalate(
        incident,
        failure.reason,
        [
          ...failure.nextSteps,
          `Prune ${classified.node.name} by hand: ${handPrune(incident.prune?.amiFamily ?? 'unknown')}.`,
        ],
        base,
        run,
        deps
      ))
    );
  }
  return emitted;
}

/**
 * The node's incident, opened or joined. An open incident the batch has
 * read already is joined as it is: the opening write would be refused on
 * it and hand the same record back, and under a storm every repeat of the
 * failure would pay that write.
 */
async function openOrJoin(
  classified: ImagePullFailureClassifiedDetail,
  key: IncidentKey,
  run: RunMode,
  deps: RemediateDeps
): Promise<OpenResult> {
  const read = await deps.batch?.incidents.get(key);
  if (read?.status === 'open') return { outcome: 'joined', incident: read };
  return deps.incidents.openOrJoin(
    incidentCandidate(classified, key, run, deps),
    classified.kubernetesEvent.time
  );
}

/**
 * Another pod of the node failing the same way joins the incident as one
 * of its pods: once the node has room, it is restarted too. Noted once.
 */
async function notePod(
  classified: ImagePullFailureClassifiedDetail,
  incident: IncidentRecord,
  key: IncidentKey,
  deps: RemediateDeps
): Promise<void> {
  // A node-level event (no pod) has nothing to restart.
  const pod = classified.pod;
  if (pod === undefined) return;
  const same = (p: { namespace: string; name: string } | undefined) =>
    p?.namespace === pod.namespace && p.name === pod.name;
  if (same(incident.pod) || (incident.pods ?? []).some(same)) return;
  await (deps.batch?.incidents ?? deps.incidents).notePod(
    key,
    incident.incidentId,
    pod
  );
}

function opened(
  classified: ImagePullFailureClassifiedDetail,
  incident: IncidentRecord,
  base: DecisionBase
): Emitted {
  const detail: IncidentOpenedDetail = {
    ...base,
    incidentId: incident.incidentId,
    openedAt: incident.openedAt,
    class: classified.class,
    evidence: classified.evidence,
    pod: classified.pod,
    image: classified.image,
  };
  return { detailType: DETAIL_TYPES.incidentOpened, detail };
}

/** After the open: escalate what pruning cannot fix, else send the one prune. */
async function act(
  classified: ImagePullFailureClassifiedDetail,
  incident: IncidentRecord,
  openedHere: boolean,
  base: DecisionBase,
  run: RunMode,
  deps: RemediateDeps
): Promise<Emitted[]> {
  const { node } = classified;
  // CRI-O stages blobs in /var/tmp: pruning images would not free it.
  // Told once, by the event that opened the incident; later events only join.
  if (classified.remedy !== 'prune') {
    if (!openedHere) return [];
    return escalate(
      incident,
      `the disk that filled (${classified.filesystem ?? 'unknown'}) is not freed by pruning images`,
      [
        `Free space under ${classified.path ?? '/var/tmp'} on ${node.name} (CRI-O stages image blobs in /var/tmp).`,
        "Point CRI-O's big_files_temporary_dir at the image volume, or grow the root volume.",
      ],
      base,
      run,
      deps
    );
  }
  // The prune is someone else's already: this event only joins.
  if (incident.step !== 'opened' && incident.stepBy !== run.eventId) return [];

  // Looked up before the claim: a lookup that fails for now leaves the
  // prune unclaimed, and the redelivered event looks again.
  const instanceId =
    node.instanceId ?? (await deps.nodes.instanceIdOf(node.name));
  if (instanceId === undefined) {
    return escalate(
      incident,
      `no EC2 instance found for node ${node.name}`,
      [
        `Check that ${node.name} is an EC2 instance in this account and region.`,
        `Prune it by hand: sudo crictl rmi --prune on ${node.name}.`,
      ],
      base,
      run,
      deps
    );
  }
  const amiFamily = await deps.nodes.amiFamilyOf(instanceId);
  const documentName = deps.commands.documentFor(amiFamily);
  if (documentName === undefined) {
    return escalate(
      incident,
      `no prune document for ${amiFamily} nodes is deployed`,
      [
        `Build infra/ssm/prune-${amiFamily}.yml and deploy the stack again.`,
        `Prune ${node.name} by hand: ${handPrune(amiFamily)}.`,
      ],
      base,
      run,
      deps
    );
  }
  const sent = await sendPrune(
    incident,
    { instanceId, amiFamily, documentName },
    base,
    run,
    deps
  );
  if (sent === undefined) return [];
  const emitted = [sent];
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
  run: RunMode,
  deps: Pick<RemediateDeps, 'clock' | 'policy'>
): IncidentRecord {
  const { cluster, node } = classified;
  const eventTime = classified.kubernetesEvent.time;
  const due = dueAfter(
    'opened',
    deps.clock.now(),
    deps.policy.deadlines,
    key.scope
  );
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
    step: 'opened',
    stepBy: run.eventId,
    ...(due ? { due } : {}),
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

/**
 * The intent id a prune's command carries in its Comment: the claim's
 * holder, so a retry of the same request looks for its own command.
 */
export const pruneCommentOf = (intentId: string, incidentId: string): string =>
  `pullmedic ${intentId} ${incidentId}`.slice(0, 100);

/** The intent id out of a prune command's Comment, if it is one of ours. */
export const intentOfComment = (
  comment: string | undefined
): string | undefined => comment?.match(/^pullmedic (\S+)/)?.[1];

/**
 * Claims the incident's prune (the intent first), sends it unless a retry
 * finds it sent, records the command, then says so. Undefined when the
 * prune is another request's.
 */
async function sendPrune(
  incident: IncidentRecord,
  target: { instanceId: string; amiFamily: AmiFamily; documentName: string },
  base: DecisionBase,
  run: RunMode,
  deps: RemediateDeps
): Promise<Emitted | undefined> {
  const { key, incidentId } = incident;
  const by = run.eventId;
  const now = deps.clock.now();
  const claim = await deps.incidents.advance(key, incidentId, {
    to: 'prune-claimed',
    by,
    due: dueAfter('prune-claimed', now, deps.policy.deadlines, key.scope),
    prune: { intentId: by, ...target, claimedAt: now.toISOString() },
  });
  if (claim.outcome === 'refused') return undefined;
  const intent = claim.incident.prune as PruneIntent;
  await deps.incidents.pointIntent(key, incidentId, intent.intentId);
  const parameters = pruneParameters(false);
  let { commandId } = intent;
  if (commandId === undefined) {
    if (run.dryRun) {
      commandId = `dry-run-${incidentId}`;
    } else {
      // SendCommand has no idempotency token: a retry first looks for the
      // command the first try may have sent.
      if (claim.outcome === 'mine') {
        commandId = await deps.commands.findPrune(
          intent.instanceId,
          intent.intentId
        );
      }
      commandId ??= await deps.commands.sendPrune(
        intent.instanceId,
        intent.documentName,
        parameters,
        pruneCommentOf(intent.intentId, incidentId)
      );
    }
    const sentAt = deps.clock.now();
    await deps.incidents.advance(key, incidentId, {
      to: 'prune-sent',
      by,
      due: dueAfter('prune-sent', sentAt, deps.policy.deadlines, key.scope),
      prune: { ...intent, commandId, sentAt: sentAt.toISOString() },
      entry: {
        at: sentAt.toISOString(),
        step: 'prune-requested',
        eventId: run.eventId,
        detail: `${run.dryRun ? '[dry-run] would send' : 'sent'} ${intent.documentName} to ${intent.instanceId} (command ${commandId})`,
      },
    });
  }
  await deps.incidents.pointCommand(key, incidentId, commandId);
  const requested: NodePruneRequestedDetail = {
    ...base,
    node: { ...base.node, instanceId: intent.instanceId },
    incidentId,
    commandId,
    documentName: intent.documentName,
    parameters,
    requestedAt: intent.sentAt ?? deps.clock.now().toISOString(),
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
