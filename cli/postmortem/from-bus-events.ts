import type { z } from 'zod';
import { incidentIdOf } from '../../core/context.ts';
import { duration } from '../../core/notification.ts';
import { formatBytes } from '../../core/prune-report.ts';
import { DETAIL_TYPES } from '../../events/detail-types.ts';
import {
  ImagePullFailureClassifiedDetail,
  IncidentEscalatedDetail,
  IncidentOpenedDetail,
  IncidentResolvedDetail,
  KubernetesEventDetail,
  NodePruneCompletedDetail,
  NodePruneRequestedDetail,
  PodRestartedDetail,
  PodRestartRequestedDetail,
  PodRestartSkippedDetail,
  SsmCommandInvocationDetail,
  VolumeRollCompletedDetail,
  VolumeRollProposedDetail,
  VolumeRollRequestedDetail,
  VolumeRollStartedDetail,
} from '../../events/schemas.ts';
import { latestTime } from '../local/input.ts';
import type { BusEvent } from '../local/runner.ts';
import {
  cut,
  type DecisionRow,
  isoMs,
  type PostmortemReport,
  percent,
  type RowKind,
  type TimelineRow,
} from './model.ts';

/**
 * Where bus events come from and how their times read: the local runtime
 * replays an incident as if it happened now, moving every time by
 * `shiftMs` (`LocalRunResult.shiftMs`); the report moves them back, so it
 * reads in the events' own clock and the incident id is the one the
 * incident had (`<cluster>/<node>/<the Failed event's time>`).
 */
export interface BusEventsSource {
  shiftMs?: number;
  /** One sentence: where the events come from. */
  source: string;
  caveats?: string[];
}

/** A bus event with its place in the order and its time in the events' clock. */
interface Item {
  event: BusEvent;
  index: number;
  at: number;
}

/** The parts of a row one describer returns. */
interface Described {
  kind: RowKind;
  label: string;
  text: string;
  dryRun: boolean;
  decision?: { decision: string; why: string };
  action?: string;
}

const parse = <T extends z.ZodType>(
  schema: T,
  detail: unknown
): z.infer<T> | undefined => {
  const out = schema.safeParse(detail);
  return out.success ? out.data : undefined;
};

const dryTag = (dryRun: boolean) => (dryRun ? '[dry-run] ' : '');
const podOf = (p?: { namespace: string; name: string }) =>
  p ? `${p.namespace}/${p.name}` : undefined;

/**
 * The time a row shows. EventBridge keeps whole seconds in the envelope,
 * so the precise times in the detail win where there is one: a Kubernetes
 * Event's own time, the prune's request, the recovery.
 */
function timeOf(e: BusEvent, shiftMs: number): number {
  const d = e.detail;
  let precise: string | number | undefined;
  if (e['detail-type'] === DETAIL_TYPES.kubernetesEvent) {
    const event = d.event;
    precise =
      typeof event === 'object' && event !== null
        ? latestTime(event as Record<string, unknown>)
        : undefined;
  } else if (e['detail-type'] === DETAIL_TYPES.nodePruneRequested) {
    precise = typeof d.requestedAt === 'string' ? d.requestedAt : undefined;
  } else if (e['detail-type'] === DETAIL_TYPES.incidentResolved) {
    // The recovery itself (the kubelet's Pulled), where the span ends.
    precise = typeof d.resolvedAt === 'string' ? d.resolvedAt : undefined;
  }
  const ms =
    typeof precise === 'number'
      ? precise
      : Date.parse(precise ?? e.time) || Date.parse(e.time);
  return (Number.isFinite(ms) ? ms : 0) - shiftMs;
}

/**
 * The order rows are told in: the second the event crossed the bus, then
 * the order it crossed in. A function publishes what it decided together,
 * after acting (the incident opens before its prune is sent, though the
 * prune's request time is earlier than the publication), so within a
 * second the bus order is the causal one.
 */
const byCrossing = (a: Item, b: Item): number =>
  (Date.parse(a.event.time) || 0) - (Date.parse(b.event.time) || 0) ||
  a.index - b.index;

type Describer = (detail: unknown) => Described | undefined;

const describeKubernetes: Describer = (detail) => {
  const k = parse(KubernetesEventDetail, detail);
  if (!k) return undefined;
  const { event } = k;
  const o = event.involvedObject;
  const object = `${o.kind.toLowerCase()} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
  const times = event.count && event.count > 1 ? ` (${event.count} times)` : '';
  return {
    kind: 'kubernetes',
    label: `${event.type === 'Warning' ? 'Warning ' : ''}${event.reason}: ${cut(event.message, 60)}`,
    text: `Kubernetes ${event.type} ${event.reason} on ${object}${times}: ${cut(event.message, 1000)}`,
    dryRun: false,
  };
};

const describeClassified: Describer = (detail) => {
  const c = parse(ImagePullFailureClassifiedDetail, detail);
  if (!c) return undefined;
  const dry = dryTag(c.dryRun);
  const k = c.kubernetesEvent;
  const of = c.pod ? `pod ${podOf(c.pod)}` : `node ${c.node.name}`;
  if (!c.causeKnown) {
    return {
      kind: 'classified',
      label: `classified: ${k.reason} (${cut(k.message, 30)}) names no cause`,
      text: `${dry}${k.reason} of ${of} names no cause (${cut(k.message, 200)}): it only joins the node's open incident`,
      dryRun: c.dryRun,
    };
  }
  const facts = [
    c.image ? `image ${c.image}` : '',
    c.runtime ? `runtime ${c.runtime}` : '',
    c.filesystem ? `filesystem ${c.filesystem}` : '',
    c.path ? `path ${cut(c.path, 160)}` : '',
  ].filter(Boolean);
  return {
    kind: 'classified',
    label: `classified ${c.class} (remedy ${c.remedy})`,
    text: `${dry}${k.reason} of ${of} on ${c.node.name} classified ${c.class}, evidence "${c.evidence ?? ''}"${facts.length ? ` (${facts.join(', ')})` : ''}; remedy: ${c.remedy}`,
    dryRun: c.dryRun,
  };
};

const describeOpened: Describer = (detail) => {
  const o = parse(IncidentOpenedDetail, detail);
  if (!o) return undefined;
  return {
    kind: 'incident',
    label: 'incident opened',
    text: `${dryTag(o.dryRun)}incident opened: ${o.class} on ${o.node.name}${o.pod ? `, pod ${podOf(o.pod)}` : ''}`,
    dryRun: o.dryRun,
  };
};

const describePruneRequested: Describer = (detail) => {
  const p = parse(NodePruneRequestedDetail, detail);
  if (!p) return undefined;
  const target = p.node.instanceId ?? p.node.name;
  const params = Object.entries(p.parameters)
    .map(([k, v]) => `${k}=${v.join(',')}`)
    .join(' ');
  return {
    kind: 'prune',
    label: `prune sent (SSM ${cut(p.documentName, 40)})`,
    text: `${dryTag(p.dryRun)}SSM SendCommand ${p.documentName} to ${target} (${params}), command ${p.commandId}`,
    dryRun: p.dryRun,
    decision: {
      decision: `prune the image cache of ${p.node.name} (SSM ${p.documentName})`,
      why: 'the failure is disk_full and its remedy is prune: the image cache holds what the pull needs',
    },
    action: `${p.dryRun ? 'Would have sent' : 'Sent'} the prune (SSM document ${p.documentName}) to ${target}`,
  };
};

const describeSsm: Describer = (detail) => {
  const s = parse(SsmCommandInvocationDetail, detail);
  if (!s) return undefined;
  return {
    kind: 'ssm',
    label: `SSM command ${s.status}`,
    text: `SSM reports command ${s['command-id']} (${s['document-name']}) on ${s['instance-id']}: ${s.status}`,
    dryRun: false,
  };
};

const OUTCOME_WORDS = {
  recovering: "wait for the kubelet's retry (recovering)",
  roll: 'roll the node group to a bigger volume',
  escalate: 'escalate to on-call',
} as const;

const describePruneCompleted: Describer = (detail) => {
  const p = parse(NodePruneCompletedDetail, detail);
  if (!p) return undefined;
  const r = p.report;
  const numbers = r
    ? `used ${formatBytes(r.bytesBefore)} → ${formatBytes(r.bytesAfter)} of ${formatBytes(r.fsBytesTotal)} (${percent(r.bytesAfter, r.fsBytesTotal)} after), freed ${formatBytes(r.bytesFreed)}, ${r.imagesRemoved} images removed, pause image ${r.pauseImageIntact ? 'intact' : 'MISSING'}; `
    : '';
  const error = p.commandError
    ? `; command error: ${cut(p.commandError, 300)}`
    : '';
  return {
    kind: 'prune',
    label: `prune ${p.status}${r ? `: freed ${formatBytes(r.bytesFreed)}` : ''} → ${p.outcome}`,
    text: `${dryTag(p.dryRun)}prune ${p.status}: ${numbers}decision: ${p.outcome}: ${p.reason}${error}`,
    dryRun: p.dryRun,
    decision: {
      decision: OUTCOME_WORDS[p.outcome],
      why: `${p.reason}${error}`,
    },
    action: `The prune ended ${p.status}${r ? `: freed ${formatBytes(r.bytesFreed)} (used ${formatBytes(r.bytesBefore)} → ${formatBytes(r.bytesAfter)} of ${formatBytes(r.fsBytesTotal)}), ${r.imagesRemoved} images removed` : ''}`,
  };
};

const describeRollRequested =
  (approved: boolean): Describer =>
  (detail) => {
    const v = parse(VolumeRollRequestedDetail, detail);
    if (!v) return undefined;
    const sizes = `volume ${v.currentSizeGiB ?? '?'} GiB, group minimum ${v.minimumSizeGiB} GiB`;
    const by = v.approvedBy ? `, approved by ${v.approvedBy}` : '';
    return {
      kind: 'roll',
      label: approved
        ? `roll approved${v.approvedBy ? ` by ${cut(v.approvedBy, 30)}` : ''}`
        : `roll requested (${v.cause})`,
      text: `${dryTag(v.dryRun)}volume roll ${approved ? 'approved' : 'requested'} (${v.cause}): ${v.reason} (${sizes}${by})`,
      dryRun: v.dryRun,
      decision: {
        decision: approved
          ? 'roll, as on-call approved'
          : `request a volume roll (${v.cause})`,
        why: `${v.reason} (${sizes}${by})`,
      },
    };
  };

const describeRollProposed: Describer = (detail) => {
  const v = parse(VolumeRollProposedDetail, detail);
  if (!v) return undefined;
  return {
    kind: 'roll',
    label: `roll proposed: ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB`,
    text: `${dryTag(v.dryRun)}volume roll proposed, waiting for approval: ${v.nodegroup.kind} node group ${v.nodegroup.name}, ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB`,
    dryRun: v.dryRun,
    decision: {
      decision: 'propose the roll and wait for on-call',
      why: `rolls need approval here; approve with: ${cut(v.approve, 600)}`,
    },
    action: `Proposed a roll of node group ${v.nodegroup.name}: ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB (waiting for approval)`,
  };
};

const describeRollStarted: Describer = (detail) => {
  const v = parse(VolumeRollStartedDetail, detail);
  if (!v) return undefined;
  const lt = v.launchTemplate;
  const versions = `${lt.oldVersion} → ${lt.newVersion ?? '(none, dry-run)'}`;
  const group = `${v.nodegroup.kind} node group ${v.nodegroup.name}`;
  return {
    kind: 'roll',
    label: `roll started: ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB`,
    text: `${dryTag(v.dryRun)}volume roll started: launch template ${lt.name ?? lt.id} version ${versions}, ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB; ${v.rollout.kind} ${v.rollout.id ?? '(not started)'} of ${group}`,
    dryRun: v.dryRun,
    decision: {
      decision: `roll ${group}: ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB`,
      why: `the roll passed the guardrails (allowlist, cooldown, hourly budget); undo: ${v.undo}`,
    },
    action: `${v.dryRun ? 'Would have rolled' : 'Rolled'} ${group}: ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB (launch template ${lt.id} version ${versions}, ${v.rollout.kind})`,
  };
};

const describeRollCompleted: Describer = (detail) => {
  const v = parse(VolumeRollCompletedDetail, detail);
  if (!v) return undefined;
  const errors = v.errors.length ? `; errors: ${v.errors.join('; ')}` : '';
  return {
    kind: 'roll',
    label: `roll ${v.succeeded ? 'completed' : 'FAILED'}: ${v.status}`,
    text: `${v.rollout.kind} ${v.rollout.id} of ${v.nodegroup.name} ended ${v.status} after ${v.checks} checks${errors}`,
    dryRun: v.dryRun,
    decision: {
      decision: v.succeeded ? 'roll completed' : 'roll failed: tell on-call',
      why: `${v.rollout.kind} reported ${v.status}${errors}`,
    },
    action: `The rollout of ${v.nodegroup.name} ended ${v.status}`,
  };
};

const describeRestartRequested: Describer = (detail) => {
  const r = parse(PodRestartRequestedDetail, detail);
  if (!r) return undefined;
  const pods = r.pods.map((p) => `${p.namespace}/${p.name}`).join(', ');
  return {
    kind: 'restart',
    label: `restart of ${r.pods.length} pod(s) requested`,
    text: `${dryTag(r.dryRun)}after the ${r.after}, asked the cluster agent to restart ${pods} (at most ${r.maxPods})`,
    dryRun: r.dryRun,
    decision: {
      decision: `restart ${pods}`,
      why: `the ${r.after} left room; the kubelet would retry only after its back-off`,
    },
    action: `${r.dryRun ? 'Would have asked' : 'Asked'} the cluster agent to restart ${pods}`,
  };
};

const describeRestarted: Describer = (detail) => {
  const r = parse(PodRestartedDetail, detail);
  if (!r) return undefined;
  const pod = `${r.pod.namespace}/${r.pod.name}`;
  return {
    kind: 'restart',
    label: `pod ${cut(r.pod.name, 40)} restarted`,
    text: `the cluster agent deleted ${pod}; its ${r.owner.kind} ${r.owner.name} makes a new pod, which pulls now`,
    dryRun: false,
    action: `Restarted ${pod} (its ${r.owner.kind} ${r.owner.name} made a new one)`,
  };
};

const describeRestartSkipped: Describer = (detail) => {
  const r = parse(PodRestartSkippedDetail, detail);
  if (!r) return undefined;
  const pod = `${r.pod.namespace}/${r.pod.name}`;
  return {
    kind: 'restart',
    label: `pod ${cut(r.pod.name, 40)} left alone: ${r.reason}`,
    text: `${dryTag(r.dryRun ?? false)}the cluster agent left ${pod} alone (${r.reason}): ${r.why}`,
    dryRun: r.dryRun ?? false,
    action: `Left ${pod} alone (${r.reason}): ${r.why}`,
  };
};

const describeResolved: Describer = (detail) => {
  const r = parse(IncidentResolvedDetail, detail);
  if (!r) return undefined;
  const restart = r.restart
    ? `; ${r.restart.replacement.namespace}/${r.restart.replacement.name} Started ${duration(r.restart.startedAfterSeconds)} after the restart of ${r.restart.pod.namespace}/${r.restart.pod.name}`
    : '';
  return {
    kind: 'resolved',
    label: `resolved (${r.resolvedBy.reason}) after ${duration(r.mttrSeconds)}`,
    text: `${dryTag(r.dryRun)}${r.resolvedBy.reason}: ${cut(r.resolvedBy.message, 200)}: incident resolved, time to recovery ${duration(r.mttrSeconds)}${restart}`,
    dryRun: r.dryRun,
    action: `Saw the pull succeed (${r.resolvedBy.reason}) and resolved the incident`,
  };
};

const describeEscalated: Describer = (detail) => {
  const x = parse(IncidentEscalatedDetail, detail);
  if (!x) return undefined;
  const steps = x.nextSteps.map((s, i) => `${i + 1}. ${s}`).join(' ');
  return {
    kind: 'escalated',
    label: `ESCALATED: ${cut(x.reason, 60)}`,
    text: `${dryTag(x.dryRun)}escalated to on-call: ${x.reason}. Next steps: ${steps}`,
    dryRun: x.dryRun,
    decision: { decision: 'escalate to on-call', why: x.reason },
    action: `Escalated to on-call: ${x.reason}`,
  };
};

const DESCRIBERS: Record<string, Describer> = {
  [DETAIL_TYPES.kubernetesEvent]: describeKubernetes,
  [DETAIL_TYPES.imagePullFailureClassified]: describeClassified,
  [DETAIL_TYPES.incidentOpened]: describeOpened,
  [DETAIL_TYPES.nodePruneRequested]: describePruneRequested,
  [DETAIL_TYPES.ssmCommandInvocationStatusChange]: describeSsm,
  [DETAIL_TYPES.nodePruneCompleted]: describePruneCompleted,
  [DETAIL_TYPES.volumeRollRequested]: describeRollRequested(false),
  [DETAIL_TYPES.volumeRollApproved]: describeRollRequested(true),
  [DETAIL_TYPES.volumeRollProposed]: describeRollProposed,
  [DETAIL_TYPES.volumeRollStarted]: describeRollStarted,
  [DETAIL_TYPES.volumeRollCompleted]: describeRollCompleted,
  [DETAIL_TYPES.podRestartRequested]: describeRestartRequested,
  [DETAIL_TYPES.podRestarted]: describeRestarted,
  [DETAIL_TYPES.podRestartSkipped]: describeRestartSkipped,
  [DETAIL_TYPES.incidentResolved]: describeResolved,
  [DETAIL_TYPES.incidentEscalated]: describeEscalated,
};

/**
 * One row for any bus event: described when its detail matches its
 * contract, shown as raw JSON otherwise (a postmortem hides nothing).
 */
function describe(e: BusEvent): Described {
  const described = DESCRIBERS[e['detail-type']]?.(e.detail);
  return (
    described ?? {
      kind: 'other',
      label: cut(e['detail-type'], 60),
      text: `${e['detail-type']} from ${e.source}: ${cut(JSON.stringify(e.detail), 400)}`,
      dryRun: e.detail.dryRun === true,
    }
  );
}

/** The node a Kubernetes Event happened on, or undefined. */
function nodeOfKubernetes(detail: Record<string, unknown>): string | undefined {
  const k = parse(KubernetesEventDetail, detail);
  return k?.node?.name ?? k?.event.source?.host;
}

function podOfKubernetes(detail: Record<string, unknown>): string | undefined {
  const o = parse(KubernetesEventDetail, detail)?.event.involvedObject;
  return o?.kind === 'Pod' && o.namespace
    ? `${o.namespace}/${o.name}`
    : undefined;
}

interface IncidentWindow {
  opened: z.infer<typeof IncidentOpenedDetail>;
  openedItem: Item;
  /** Events of the node up to and including this time belong to it. */
  end: number;
  start: number;
}

/**
 * Whether an event without the incident's id belongs to it: the node's
 * Kubernetes Events and classifications (or its pod's) between the end of
 * the node's previous incident and the end of this one, and the SSM status
 * of its prune.
 */
function belongsTo(
  item: Item,
  w: IncidentWindow,
  commandIds: ReadonlySet<string>
): boolean {
  const d = item.event.detail;
  if (d.incidentId === w.opened.incidentId) return true;
  const type = item.event['detail-type'];
  if (type === DETAIL_TYPES.ssmCommandInvocationStatusChange)
    return commandIds.has(String(d['command-id']));
  const inWindow = item.at > w.start && item.at <= w.end;
  if (!inWindow || d.cluster !== w.opened.cluster) return false;
  if (type === DETAIL_TYPES.kubernetesEvent) {
    const pod = podOf(w.opened.pod);
    return (
      nodeOfKubernetes(d) === w.opened.node.name ||
      (pod !== undefined && podOfKubernetes(d) === pod)
    );
  }
  const node = (d.node as { name?: unknown } | undefined)?.name;
  return (
    node === w.opened.node.name &&
    (type === DETAIL_TYPES.imagePullFailureClassified ||
      (type === DETAIL_TYPES.incidentEscalated && d.incidentId === undefined))
  );
}

/** One window per opened incident: a node's incidents follow each other. */
function windowsOf(items: Item[], shiftMs: number): IncidentWindow[] {
  const windows: IncidentWindow[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    if (item.event['detail-type'] !== DETAIL_TYPES.incidentOpened) continue;
    const opened = parse(IncidentOpenedDetail, item.event.detail);
    if (!opened || seen.has(opened.incidentId)) continue;
    seen.add(opened.incidentId);
    const resolved = items.find(
      (i) =>
        i.event['detail-type'] === DETAIL_TYPES.incidentResolved &&
        i.event.detail.incidentId === opened.incidentId
    );
    // Until the end of the second pullmedic resolved it in (envelope times
    // are whole seconds): the pod's Created and Started of the same moment
    // belong to it.
    const end = resolved
      ? Date.parse(resolved.event.time) - shiftMs + 999
      : Number.POSITIVE_INFINITY;
    windows.push({
      opened,
      openedItem: item,
      end,
      start: Number.NEGATIVE_INFINITY,
    });
  }
  for (const w of windows) {
    const before = windows.filter(
      (o) =>
        o !== w &&
        o.opened.cluster === w.opened.cluster &&
        o.opened.node.name === w.opened.node.name &&
        o.openedItem.index < w.openedItem.index
    );
    w.start = Math.max(Number.NEGATIVE_INFINITY, ...before.map((o) => o.end));
  }
  return windows;
}

/**
 * Postmortem reports from the events that crossed the bus, one per
 * incident opened among them (a file of events can hold several nodes'
 * incidents), in the order they opened.
 *
 * @example
 * ```ts
 * const result = await runLocal({ items, node: 'simulated' });
 * const reports = reportsFromBusEvents(result.busEvents, {
 *   shiftMs: result.shiftMs,
 *   source: 'events/samples/seed-incident.jsonl, replayed on a local AWS',
 * });
 * ```
 */
export function reportsFromBusEvents(
  events: readonly BusEvent[],
  source: BusEventsSource
): PostmortemReport[] {
  const shiftMs = source.shiftMs ?? 0;
  const items = events.map((event, index) => ({
    event,
    index,
    at: timeOf(event, shiftMs),
  }));
  return windowsOf(items, shiftMs).map((w) => buildReport(items, w, source));
}

function buildReport(
  items: Item[],
  w: IncidentWindow,
  source: BusEventsSource
): PostmortemReport {
  const shiftMs = source.shiftMs ?? 0;
  const commandIds = new Set(
    items.flatMap((i) =>
      i.event['detail-type'] === DETAIL_TYPES.nodePruneRequested &&
      i.event.detail.incidentId === w.opened.incidentId
        ? [String(i.event.detail.commandId)]
        : []
    )
  );
  const mine = items
    .filter((i) => belongsTo(i, w, commandIds))
    .sort(byCrossing);

  const timeline: TimelineRow[] = [];
  const decisions: DecisionRow[] = [];
  const actions: string[] = [];
  let last = Number.NEGATIVE_INFINITY;
  for (const item of mine) {
    const d = describe(item.event);
    // Envelope times are whole seconds: a row is never shown earlier than
    // the one before it by less than that rounding.
    const ms = item.at < last && last - item.at < 1000 ? last : item.at;
    last = ms;
    const at = isoMs(ms);
    timeline.push({
      at,
      kind: d.kind,
      label: d.label,
      text: d.text,
      dryRun: d.dryRun,
    });
    if (d.decision)
      decisions.push({
        at,
        step: item.event['detail-type'],
        ...d.decision,
        dryRun: d.dryRun,
      });
    if (d.action) actions.push(`${d.dryRun ? '[dry-run] ' : ''}${d.action}`);
  }

  const find = <T extends z.ZodType>(type: string, schema: T) => {
    const item = mine.find((i) => i.event['detail-type'] === type);
    return item ? parse(schema, item.event.detail) : undefined;
  };
  const resolved = find(DETAIL_TYPES.incidentResolved, IncidentResolvedDetail);
  const pruned = find(
    DETAIL_TYPES.nodePruneCompleted,
    NodePruneCompletedDetail
  );
  const rolled = find(DETAIL_TYPES.volumeRollStarted, VolumeRollStartedDetail);
  const o = w.opened;
  const openedAt = isoMs(o.openedAt, shiftMs);
  const r = pruned?.report;
  return {
    // The id the incident had in the events' own clock, as AWS would have
    // named it; the replay's id is in the caveats.
    incidentId: shiftMs
      ? incidentIdOf(o.cluster, o.node.name, openedAt)
      : o.incidentId,
    cluster: o.cluster,
    node: o.node.name,
    ...(o.node.instanceId ? { instanceId: o.node.instanceId } : {}),
    ...(o.pod ? { pod: podOf(o.pod) } : {}),
    ...(o.image ? { image: o.image } : {}),
    class: o.class,
    evidence: o.evidence,
    openedAt,
    ...(resolved
      ? {
          resolvedAt: isoMs(resolved.resolvedAt, shiftMs),
          mttrSeconds: resolved.mttrSeconds,
          resolvedBy: `${resolved.resolvedBy.reason}: ${resolved.resolvedBy.message}`,
        }
      : {}),
    dryRun: timeline.some((t) => t.dryRun),
    actions,
    timeline,
    decisions,
    ...(r
      ? {
          disk: {
            fsBytesTotal: r.fsBytesTotal,
            bytesBefore: r.bytesBefore,
            bytesAfter: r.bytesAfter,
            bytesFreed: r.bytesFreed,
            imagesRemoved: r.imagesRemoved,
            pauseImageIntact: r.pauseImageIntact,
            method: r.method,
          },
        }
      : {}),
    ...(rolled
      ? {
          volume: {
            deviceName: rolled.deviceName,
            oldSizeGiB: rolled.oldSizeGiB,
            newSizeGiB: rolled.newSizeGiB,
            nodegroup: rolled.nodegroup.name,
            launchTemplate: `${rolled.launchTemplate.id} version ${rolled.launchTemplate.oldVersion} → ${rolled.launchTemplate.newVersion ?? '(none, dry-run)'}`,
          },
        }
      : {}),
    source: source.source,
    caveats: [
      ...(shiftMs
        ? [
            `The local runtime replayed the events as if they happened now; this report moves every time back to the events' own clock (the replay's incident id was ${o.incidentId}).`,
          ]
        : []),
      ...(source.caveats ?? []),
    ],
  };
}
