// The facts pullmedic reads off one Kubernetes Event: the node it happened
// on, that node's instance id, the pod, the image, and when it happened.
// One module, so the forwarder, the functions, the local runtime and the
// postmortem derive each fact the same way, from a core/v1 Event, an
// events.k8s.io/v1 Event, or kubernetes-event-exporter's shape (the core/v1
// fields inline). Each reader takes the object as it comes: a parsed
// contract or raw JSON, trusted for nothing.

import { isRecord, text } from './json.ts';
import { AWS_PROVIDER_ID, IMAGE_REFERENCE, nodeName } from './names.ts';

/**
 * Where an event's time is read from, first match wins: the latest
 * observation first. In events.k8s.io/v1 `eventTime` is the FIRST
 * observation of a series; a recurrence's time is
 * `series.lastObservedTime` (and the API server fills the legacy
 * `lastTimestamp`, `deprecatedLastTimestamp` in events.k8s.io, from it for
 * a core/v1 reader). The legacy recorder (the kubelet's) sets
 * `firstTimestamp` and `lastTimestamp` and leaves `eventTime` null. The
 * exporter sends the core/v1 fields inline, so the same order holds; its
 * `details:` template carries none, and the caller's fallback (the
 * envelope's time) stands.
 *
 * @example
 * ```ts
 * EVENT_TIME_FIELDS[0]; // ['series', 'lastObservedTime']
 * ```
 */
export const EVENT_TIME_FIELDS = [
  ['series', 'lastObservedTime'],
  ['lastTimestamp'],
  ['deprecatedLastTimestamp'],
  ['eventTime'],
  ['firstTimestamp'],
  ['deprecatedFirstTimestamp'],
  ['metadata', 'creationTimestamp'],
] as const;

const at = (event: unknown, path: readonly string[]): unknown => {
  let v: unknown = event;
  for (const key of path) v = isRecord(v) ? v[key] : undefined;
  return v;
};

/**
 * When the event last happened, as the event writes it: the first of
 * {@link EVENT_TIME_FIELDS} that holds a time; undefined when none does.
 *
 * @example
 * ```ts
 * eventTimeOf({
 *   eventTime: '2026-11-20T09:00:00.000000Z',
 *   series: { count: 4, lastObservedTime: '2026-11-20T09:41:00.000000Z' },
 * }); // '2026-11-20T09:41:00.000000Z'
 * ```
 */
export function eventTimeOf(event: unknown): string | undefined {
  for (const path of EVENT_TIME_FIELDS) {
    const t = text(at(event, path));
    if (t !== undefined && Number.isFinite(Date.parse(t))) return t;
  }
  return undefined;
}

/**
 * {@link eventTimeOf} in ms since the epoch.
 *
 * @example
 * ```ts
 * eventTimeMs({ lastTimestamp: '2026-11-28T10:00:00Z' }); // 1795860000000
 * ```
 */
export function eventTimeMs(event: unknown): number | undefined {
  const t = eventTimeOf(event);
  return t === undefined ? undefined : Date.parse(t);
}

/**
 * Moves every time {@link eventTimeOf} reads by `shiftMs`, keeping their
 * spacing, in a copy: the local runtime replays an incident as if it
 * happened now.
 *
 * @example
 * ```ts
 * shiftEventTimes({ lastTimestamp: '2026-11-20T09:40:59Z' }, 1000);
 * // { lastTimestamp: '2026-11-20T09:41:00Z' }
 * ```
 */
export function shiftEventTimes<T extends Record<string, unknown>>(
  event: T,
  shiftMs: number
): T {
  const copy = structuredClone(event);
  for (const path of EVENT_TIME_FIELDS) {
    const parent = at(copy, path.slice(0, -1));
    const key = path[path.length - 1] as string;
    if (!isRecord(parent)) continue;
    const t = text(parent[key]);
    const ms = t === undefined ? Number.NaN : Date.parse(t);
    if (Number.isFinite(ms)) {
      parent[key] = new Date(ms + shiftMs).toISOString().replace('.000Z', 'Z');
    }
  }
  return copy;
}

/** The object an event is about: `involvedObject`, or `regarding`. */
const subjectOf = (event: unknown): Record<string, unknown> => {
  const o = at(event, ['involvedObject']) ?? at(event, ['regarding']);
  return isRecord(o) ? o : {};
};

/**
 * The node an event happened on, from the event alone: the reporting
 * kubelet's host (`source.host`; `deprecatedSource.host` in
 * events.k8s.io), else the object itself when it is a Node (NodeNotReady,
 * the eviction manager's disk pressure), if its name is a node name.
 *
 * @example
 * ```ts
 * nodeNameOfEvent({ involvedObject: { kind: 'Node', name: 'ip-10-0-1-149.ec2.internal' } });
 * // 'ip-10-0-1-149.ec2.internal'
 * ```
 */
export function nodeNameOfEvent(event: unknown): string | undefined {
  const host =
    text(at(event, ['source', 'host'])) ??
    text(at(event, ['deprecatedSource', 'host']));
  if (host !== undefined) return host;
  const subject = subjectOf(event);
  return subject.kind === 'Node'
    ? nodeName.safeParse(subject.name).data
    : undefined;
}

/**
 * The node of a forwarded `Kubernetes Event`: the forwarder's enrichment
 * (`node.name`), else what the event itself says ({@link nodeNameOfEvent}).
 *
 * @example
 * ```ts
 * nodeNameOf(detail); // 'ip-10-0-1-149.ec2.internal'
 * ```
 */
export function nodeNameOf(detail: unknown): string | undefined {
  return (
    text(at(detail, ['node', 'name'])) ?? nodeNameOfEvent(at(detail, ['event']))
  );
}

/**
 * The instance id inside a Node's providerID, or undefined.
 *
 * @example
 * ```ts
 * instanceIdFromProviderId('aws:///us-east-1a/i-0abc12345678def90');
 * // 'i-0abc12345678def90'
 * ```
 */
export const instanceIdFromProviderId = (
  providerId: string | undefined
): string | undefined => providerId?.match(AWS_PROVIDER_ID)?.[1];

/**
 * A node's EC2 instance id, from what is known of it: the id itself, else
 * the one in its providerID (the forwarder's Node informer). Undefined
 * when neither says: the node directory (EC2) is asked then, where it
 * matters.
 *
 * @example
 * ```ts
 * instanceIdOf({ providerID: 'aws:///us-east-1a/i-0abc12345678def90' });
 * // 'i-0abc12345678def90'
 * ```
 */
export const instanceIdOf = (
  node: { instanceId?: string; providerID?: string } | undefined
): string | undefined =>
  node?.instanceId ?? instanceIdFromProviderId(node?.providerID);

/** A namespaced object: a pod, a controller. */
export interface NamespacedName {
  namespace: string;
  name: string;
}

/**
 * The pod an event is about, when it is about a pod (and says its
 * namespace).
 *
 * @example
 * ```ts
 * podOf(event); // { namespace: 'inference', name: 'triton-79569cfbbc-m2wcc' }
 * ```
 */
export function podOf(event: unknown): NamespacedName | undefined {
  const subject = subjectOf(event);
  const namespace = text(subject.namespace);
  const name = text(subject.name);
  return subject.kind === 'Pod' && namespace && name
    ? { namespace, name }
    : undefined;
}

/**
 * `namespace/name`, as kubectl and Kubernetes' own types write it.
 *
 * @example
 * ```ts
 * namespacedName({ namespace: 'inference', name: 'triton-79569cfbbc-m2wcc' });
 * // 'inference/triton-79569cfbbc-m2wcc'
 * ```
 */
export const namespacedName = (ref: NamespacedName): string =>
  `${ref.namespace}/${ref.name}`;

const IMAGE_IN_MESSAGE = /image "([^"\s]{1,512})"/;

/**
 * The image an event's message is about: the one the classifier extracted
 * when it did, else the kubelet's `image "…"`; only when it has the
 * characters of an image reference.
 *
 * @example
 * ```ts
 * imageOf('Failed to pull image "nginx:1.25": …'); // 'nginx:1.25'
 * ```
 */
export function imageOf(
  message: string,
  extracted?: string
): string | undefined {
  const image = extracted ?? message.match(IMAGE_IN_MESSAGE)?.[1];
  return image && IMAGE_REFERENCE.test(image) ? image : undefined;
}
