import type * as z from 'zod/mini';
import { incidentIdOf } from '../../core/context.ts';
import { cut } from '../../core/words.ts';
import { DETAIL_TYPES } from '../../events/detail-types.ts';
import {
  eventTimeMs,
  namespacedName,
  nodeNameOf,
  podOf,
} from '../../events/kubernetes-event-facts.ts';
import {
  IncidentOpenedDetail,
  IncidentResolvedDetail,
  NodePruneCompletedDetail,
  VolumeRollStartedDetail,
} from '../../events/schemas.ts';
import { type Described, describeBusEvent } from '../bus-event-words.ts';
import type { BusEvent } from '../local/runner.ts';
import {
  type DecisionRow,
  isoMs,
  type PostmortemReport,
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

const parse = <T extends z.ZodMiniType>(
  schema: T,
  detail: unknown
): z.infer<T> | undefined => {
  const out = schema.safeParse(detail);
  return out.success ? out.data : undefined;
};

/** The parts of a row the words of a bus event give. */
type Row = Pick<
  Described,
  'kind' | 'label' | 'text' | 'dryRun' | 'decision' | 'action'
>;

/**
 * The time a row shows. EventBridge keeps whole seconds in the envelope,
 * so the precise times in the detail win where there is one: a Kubernetes
 * Event's own time, the prune's request, the recovery.
 */
function timeOf(e: BusEvent, shiftMs: number): number {
  const d = e.detail;
  let precise: string | number | undefined;
  if (e['detail-type'] === DETAIL_TYPES.kubernetesEvent) {
    precise = eventTimeMs(d.event);
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

/**
 * One row for any bus event: described when its detail matches its
 * contract, shown as raw JSON otherwise (a postmortem hides nothing).
 */
function describe(e: BusEvent): Row {
  const described = describeBusEvent(e);
  return (
    described ?? {
      kind: 'other',
      label: cut(e['detail-type'], 60),
      text: `${e['detail-type']} from ${e.source}: ${cut(JSON.stringify(e.detail), 400)}`,
      dryRun: e.detail.dryRun === true,
    }
  );
}

/** The pod a forwarded Kubernetes Event is about, as `namespace/name`. */
function podOfKubernetes(detail: Record<string, unknown>): string | undefined {
  const pod = podOf(detail.event);
  return pod ? namespacedName(pod) : undefined;
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
    const pod = w.opened.pod ? namespacedName(w.opened.pod) : undefined;
    return (
      nodeNameOf(d) === w.opened.node.name ||
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

  const find = <T extends z.ZodMiniType>(type: string, schema: T) => {
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
    ...(o.pod ? { pod: namespacedName(o.pod) } : {}),
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
