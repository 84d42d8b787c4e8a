// What the forwarder reads off one Kubernetes Event: its identity, its
// occurrence count, its time and how much it matters to the pipeline. All of
// it from the raw object the API server returned, core/v1 or
// events.k8s.io/v1, without trusting its shape.

import { isRecord, text as str } from '../events/json.ts';
import { eventTimeMs } from '../events/kubernetes-event-facts.ts';

/** A Kubernetes object as JSON: the forwarder does not trust its shape. */
export type KubeObject = Record<string, unknown>;

/** Shed first (0) to shed last (2): see {@link priorityOf}. */
export type Priority = 0 | 1 | 2;

// Reasons that bear on a pull failing for a full disk: kubelet's image
// manager and eviction manager. They are the last to be shed.
const PIPELINE_REASONS = new Set([
  'Failed',
  'ErrImagePull',
  'ImagePullBackOff',
  'BackOff',
  'InspectFailed',
  'ErrImageNeverPull',
  'FreeDiskSpaceFailed',
  'ImageGCFailed',
  'EvictionThresholdMet',
  'NodeHasDiskPressure',
  'Evicted',
]);

/**
 * How much an event matters when the queue is full: 2 for the reasons the
 * pipeline acts on, 1 for other warnings, 0 for Normal events (Pulled,
 * Started tell a pull healed; losing one delays a resolution, nothing
 * worse).
 *
 * @example
 * ```ts
 * priorityOf({ type: 'Warning', reason: 'Failed' }); // 2
 * ```
 */
export function priorityOf(event: KubeObject): Priority {
  const reason = str(event.reason) ?? '';
  if (PIPELINE_REASONS.has(reason)) return 2;
  return event.type === 'Warning' ? 1 : 0;
}

/**
 * The event's identity across updates: its uid (kubelet bumps `count` on
 * the same object), or namespace/name when a test double omits the uid.
 *
 * @example
 * ```ts
 * eventKey(event); // '5b6f…'
 * ```
 */
export function eventKey(event: KubeObject): string | undefined {
  const meta = isRecord(event.metadata) ? event.metadata : {};
  const uid = str(meta.uid);
  if (uid) return uid;
  const name = str(meta.name);
  return name ? `${str(meta.namespace) ?? ''}/${name}` : undefined;
}

/**
 * How many times the event has occurred: `count` (core/v1 legacy
 * recorder), `series.count` (the events.k8s.io recorder), at least 1.
 *
 * @example
 * ```ts
 * eventCount({ count: 7 }); // 7
 * ```
 */
export function eventCount(event: KubeObject): number {
  const series = isRecord(event.series) ? event.series : {};
  const candidates = [event.count, series.count, event.deprecatedCount];
  let count = 1;
  for (const c of candidates) {
    if (typeof c === 'number' && Number.isFinite(c) && c > count) count = c;
  }
  return count;
}

/**
 * When the event last occurred, in ms since the epoch, by the one
 * precedence of events/kubernetes-event-facts.ts; 0 when no time parses.
 *
 * @example
 * ```ts
 * eventTime({ lastTimestamp: '2026-11-28T10:00:00Z' }); // 1795860000000
 * ```
 */
export const eventTime = (event: KubeObject): number => eventTimeMs(event) ?? 0;

/** The object's metadata.resourceVersion, or ''. */
export function resourceVersionOf(obj: unknown): string {
  const meta =
    isRecord(obj) && isRecord(obj.metadata) ? obj.metadata : undefined;
  return str(meta?.resourceVersion) ?? '';
}

/**
 * An events.k8s.io/v1 Event in the core/v1 shape the pipeline parses
 * (regarding → involvedObject, note → message, deprecated* → the legacy
 * fields), so both APIs produce the same `Kubernetes Event` entry.
 *
 * @example
 * ```ts
 * const core = fromEventsV1(obj);
 * core.involvedObject; // obj.regarding
 * ```
 */
export function fromEventsV1(event: KubeObject): KubeObject {
  const series = isRecord(event.series) ? event.series : undefined;
  const source = isRecord(event.deprecatedSource) ? event.deprecatedSource : {};
  const host = str(source.host) ?? str(event.reportingInstance);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: event.metadata,
    involvedObject: event.regarding,
    ...(event.related ? { related: event.related } : {}),
    reason: event.reason,
    message: event.note,
    type: event.type,
    count: eventCount(event),
    firstTimestamp: event.deprecatedFirstTimestamp ?? event.eventTime,
    lastTimestamp:
      series?.lastObservedTime ??
      event.deprecatedLastTimestamp ??
      event.eventTime,
    eventTime: event.eventTime,
    source: {
      ...(str(source.component) || str(event.reportingController)
        ? { component: str(source.component) ?? event.reportingController }
        : {}),
      ...(host ? { host } : {}),
    },
    reportingComponent: event.reportingController,
    reportingInstance: event.reportingInstance,
    action: event.action,
    ...(series ? { series } : {}),
  };
}
