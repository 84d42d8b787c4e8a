// The postmortem report as data: what the Markdown and the SVG renderers
// draw. Built from the events that crossed the bus (from-bus-events.ts) or
// from an incident record (from-incident-record.ts); rendering never looks
// at where it came from, so both sources read the same.

/** What kind of step a timeline row is: it picks the marker's colour. */
export type RowKind =
  | 'kubernetes'
  | 'classified'
  | 'incident'
  | 'prune'
  | 'ssm'
  | 'roll'
  | 'restart'
  | 'resolved'
  | 'escalated'
  | 'other';

/** One step of the incident, in time order. */
export interface TimelineRow {
  /** ISO 8601 UTC with milliseconds. */
  at: string;
  kind: RowKind;
  /** A few words, for the picture. */
  label: string;
  /** The whole sentence, for the report's table. */
  text: string;
  dryRun: boolean;
}

/** A decision pullmedic took, and the reason it gave. */
export interface DecisionRow {
  at: string;
  /** The event or timeline step that carries it (`Node Prune Completed`). */
  step: string;
  decision: string;
  why: string;
  dryRun: boolean;
}

/** The prune report's disk numbers (the containerd filesystem). */
export interface DiskUsage {
  fsBytesTotal: number;
  bytesBefore: number;
  bytesAfter: number;
  bytesFreed: number;
  imagesRemoved?: number;
  pauseImageIntact?: boolean;
  method?: string;
}

/** The launch template change of a volume roll. */
export interface VolumeChange {
  deviceName: string;
  oldSizeGiB: number;
  newSizeGiB: number;
  nodegroup?: string;
  launchTemplate?: string;
}

/**
 * Everything a postmortem says about one incident.
 *
 * @example
 * ```ts
 * const report: PostmortemReport = reportFromIncidentRecord(record, source);
 * writeFile(path, renderMarkdown(report, { svgFile }));
 * ```
 */
export interface PostmortemReport {
  incidentId: string;
  cluster: string;
  node: string;
  instanceId?: string;
  /** `namespace/name`. */
  pod?: string;
  image?: string;
  class: string;
  evidence: string | null;
  openedAt: string;
  resolvedAt?: string;
  /** Opened → resolved, in seconds; set only when resolved. */
  mttrSeconds?: number;
  /** What resolved it: the kubelet's reason and message. */
  resolvedBy?: string;
  /** At least one decision was taken without acting (replay, dry-run). */
  dryRun: boolean;
  /** What pullmedic did, one sentence each, in order. */
  actions: string[];
  timeline: TimelineRow[];
  decisions: DecisionRow[];
  disk?: DiskUsage;
  volume?: VolumeChange;
  /**
   * Set when the report comes from a local replay: what the prune ran on
   * ('a simulated node', 'the containerd lab'). Its disk figures and times
   * are that stand-in's, not the incident's, and every output says so.
   */
  replayedOn?: string;
  /** Where the report comes from, one sentence. */
  source: string;
  /** What the reader must know about the source (replays, stand-ins). */
  caveats: string[];
}

/**
 * The incident id as a file name part: only `[A-Za-z0-9._-]`, the slashes
 * of `<cluster>/<node>/<opened>` as `_`, never a leading dot, at most 150
 * characters (an id from a table can be anything).
 *
 * @example
 * ```ts
 * safeIncidentId('gpu-inference/ip-10-0-1-149.ec2.internal/20261120T094059Z');
 * // 'gpu-inference_ip-10-0-1-149.ec2.internal_20261120T094059Z'
 * ```
 */
export function safeIncidentId(incidentId: string): string {
  const safe = incidentId
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 150);
  return safe === '' ? 'incident' : safe;
}

/**
 * A time as ISO 8601 UTC with milliseconds (string order is time order).
 *
 * @example
 * ```ts
 * isoMs('2026-11-20T09:40:59Z', 0); // '2026-11-20T09:40:59.000Z'
 * ```
 */
export function isoMs(time: string | number, shiftMs = 0): string {
  const ms = typeof time === 'number' ? time : Date.parse(time);
  return new Date(ms - shiftMs).toISOString();
}

/**
 * `2026-11-20 09:40:59 UTC`.
 *
 * @example
 * ```ts
 * utcTime('2026-11-20T09:40:59.123Z'); // '2026-11-20 09:40:59 UTC'
 * ```
 */
export const utcTime = (iso: string): string =>
  `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

/**
 * `09:40:59`.
 *
 * @example
 * ```ts
 * clockTime('2026-11-20T09:40:59.123Z'); // '09:40:59'
 * ```
 */
export const clockTime = (iso: string): string => iso.slice(11, 19);

/**
 * A share as a whole percentage, 0 when the total is 0.
 *
 * @example
 * ```ts
 * percent(1, 4); // '25%'
 * ```
 */
export const percent = (part: number, total: number): string =>
  `${total > 0 ? Math.round((part / total) * 100) : 0}%`;

/**
 * The parts of an incident id, `<cluster>/<node>/<opened>` (core/context.ts
 * `incidentIdOf`), or undefined when it has not that shape.
 *
 * @example
 * ```ts
 * parseIncidentId('prod/ip-10-0-1-149.ec2.internal/20261120T094059Z');
 * // { cluster: 'prod', node: 'ip-10-0-1-149.ec2.internal', opened: '20261120T094059Z' }
 * ```
 */
export function parseIncidentId(
  incidentId: string
): { cluster: string; node: string; opened: string } | undefined {
  const m = /^([^/\s]+)\/([^/\s]+)\/([^/\s]+)$/.exec(incidentId);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  return { cluster: m[1], node: m[2], opened: m[3] };
}
