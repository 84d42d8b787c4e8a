import { DETAIL_TYPES } from '../events/detail-types.ts';
import { DNS_SUBDOMAIN } from '../events/names.ts';
import type { KubernetesEventDetail } from '../events/schemas.ts';
import { PULL_FAILURE_REASONS } from './pod-restart.ts';
import type {
  Clock,
  ClusterPods,
  Emitted,
  LiveContainer,
  LivePod,
} from './ports.ts';

/** Who writes the sweep's entries (the Event's source.component). */
export const SWEEP_COMPONENT = 'pullmedic-agent';

/** The longest pull error a sweep entry carries (the kubelet's are short). */
const MAX_PULL_ERROR = 16 * 1024;

/** One container of one pod, waiting in ImagePullBackOff or ErrImagePull. */
export interface StuckPull {
  pod: LivePod & { nodeName: string };
  container: LiveContainer & { waiting: { reason: string } };
  /** The pull error the kubelet put in the status message. */
  pullError: string;
  /** What the sweep remembers it by: pod uid, container, pull error. */
  key: string;
}

// What the kubelet's image manager writes in state.waiting.message during
// the back-off: `Back-off pulling image "<image>": <Err>: <the pull error>`,
// where <Err> is ErrImagePull (or RegistryUnavailable,
// SignatureValidationFailed). While the pull has just failed
// (ErrImagePull), the message is the pull error itself.
const BACK_OFF =
  /^Back-off pulling image "[^"]*"(?:: (?:ErrImagePull|RegistryUnavailable|SignatureValidationFailed): )?/;

/**
 * The pull error in a waiting container's status message, without the
 * back-off's preamble; the reason itself when the kubelet gave no message.
 *
 * @example
 * ```ts
 * pullErrorOf('ImagePullBackOff', 'Back-off pulling image "a:1": ErrImagePull: no space left on device');
 * // 'no space left on device'
 * ```
 */
export function pullErrorOf(
  reason: string,
  message: string | undefined
): string {
  const text = (message ?? '').trim();
  const stripped = text.replace(BACK_OFF, '').trim();
  return (stripped || text || reason).slice(0, MAX_PULL_ERROR);
}

/**
 * A short, stable digest of a string (cyrb53): the sweep's memory keeps
 * this instead of pull errors that can run to kilobytes.
 */
function digest(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/**
 * The reference as the kubelet names it in its events: `:latest` added
 * when the spec gives neither a tag nor a digest (applyDefaultImageTag).
 *
 * @example
 * ```ts
 * withDefaultTag('nginx'); // 'nginx:latest'
 * ```
 */
export function withDefaultTag(image: string): string {
  if (image.includes('@')) return image;
  const last = image.slice(image.lastIndexOf('/') + 1);
  return last.includes(':') ? image : `${image}:latest`;
}

/**
 * Every container stuck pulling its image in these pods: waiting in
 * ImagePullBackOff or ErrImagePull on a node. Other waiting reasons
 * (ContainerCreating, CrashLoopBackOff, …) are none of the sweep's
 * business; a pod being deleted is on its way out.
 *
 * @example
 * ```ts
 * stuckPulls(await pods.listPods()).map((s) => s.key);
 * ```
 */
export function stuckPulls(pods: readonly LivePod[]): StuckPull[] {
  const out: StuckPull[] = [];
  for (const pod of pods) {
    const { nodeName } = pod;
    if (nodeName === undefined || pod.deletionTimestamp !== undefined) continue;
    for (const container of pod.containers) {
      const { waiting } = container;
      if (waiting === undefined || !PULL_FAILURE_REASONS.has(waiting.reason))
        continue;
      const pullError = pullErrorOf(waiting.reason, waiting.message);
      out.push({
        pod: { ...pod, nodeName },
        container: { ...container, waiting },
        pullError,
        key: `${pod.uid}/${container.init ? 'init:' : ''}${container.name}/${digest(pullError)}`,
      });
    }
  }
  return out;
}

/**
 * The `Kubernetes Event` detail the sweep puts on the bus for a stuck
 * pull: a core/v1 Event as the kubelet would have written it when the pull
 * failed (reason Failed, type Warning, `Failed to pull image "<image>":
 * <pull error>`, source.host the pod's node, times now), about the pod and
 * its container, marked `foundBy: 'sweep'`. classify reads it like any
 * other.
 *
 * @example
 * ```ts
 * const detail = sweepEntry('prod', stuck, new Date());
 * detail.event.message; // 'Failed to pull image "app:1": …'
 * ```
 */
export function sweepEntry(
  cluster: string,
  stuck: StuckPull,
  now: Date
): KubernetesEventDetail {
  const { pod, container } = stuck;
  const time = now.toISOString();
  // An Event's name is its object's name and a unique suffix, as the
  // kubelet's recorder makes it; the uid is unique per report.
  const suffix = now.getTime().toString(16);
  const name = `${pod.name.slice(0, 253 - suffix.length - 1)}.${suffix}`;
  const fieldPath = `spec.${container.init ? 'initContainers' : 'containers'}{${container.name}}`;
  return {
    cluster,
    event: {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: DNS_SUBDOMAIN.test(name) ? name : `pod.${suffix}`,
        namespace: pod.namespace,
        uid: `${pod.uid.slice(0, 40)}-${digest(container.name).slice(0, 6)}-${now.getTime().toString(36)}`,
        creationTimestamp: time,
      },
      involvedObject: {
        kind: 'Pod',
        namespace: pod.namespace,
        name: pod.name,
        uid: pod.uid,
        fieldPath,
      },
      reason: 'Failed',
      message: `Failed to pull image "${withDefaultTag(container.image)}": ${stuck.pullError}`,
      type: 'Warning',
      count: 1,
      firstTimestamp: time,
      lastTimestamp: time,
      source: { component: SWEEP_COMPONENT, host: pod.nodeName },
      reportingComponent: SWEEP_COMPONENT,
      reportingInstance: pod.nodeName,
    },
    node: { name: pod.nodeName },
    foundBy: 'sweep',
  };
}

/**
 * What the sweep has reported, so that the same stuck pull (pod uid,
 * container, pull error) goes on the bus again only after a quiet period.
 * Bounded: entries past the quiet period are dropped at each sweep, and
 * the oldest go first beyond `maxEntries`.
 *
 * @example
 * ```ts
 * const memory = new SweepMemory(15 * 60_000);
 * if (memory.due(key, now)) { await put(entry); memory.remember(key, now); }
 * ```
 */
export class SweepMemory {
  readonly #quietMs: number;
  readonly #maxEntries: number;
  readonly #reportedAt = new Map<string, number>();

  constructor(quietMs: number, maxEntries = 50_000) {
    this.#quietMs = quietMs;
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#reportedAt.size;
  }

  /** Not reported yet, or last reported a quiet period ago or more. */
  due(key: string, now: Date): boolean {
    const last = this.#reportedAt.get(key);
    return last === undefined || now.getTime() - last >= this.#quietMs;
  }

  /** Call once the entry is on the bus. */
  remember(key: string, now: Date): void {
    // Re-inserted, so the Map's order stays oldest first.
    this.#reportedAt.delete(key);
    this.#reportedAt.set(key, now.getTime());
    for (const oldest of this.#reportedAt.keys()) {
      if (this.#reportedAt.size <= this.#maxEntries) break;
      this.#reportedAt.delete(oldest);
    }
  }

  /** Forgets what is past its quiet period: it would be reported anyway. */
  prune(now: Date): void {
    for (const [key, at] of this.#reportedAt) {
      if (now.getTime() - at >= this.#quietMs) this.#reportedAt.delete(key);
    }
  }
}

/** What one sweep found: the entries to put on the bus, with their keys. */
export interface SweepResult {
  /** Stuck pulls seen, reported or not. */
  stuck: number;
  /** The entries due, each with its memory key. */
  due: { key: string; emitted: Emitted }[];
}

/**
 * One sweep: lists the pods, finds every container stuck pulling, and
 * returns an entry for each one not reported within the quiet period.
 * The caller puts them on the bus and then remembers each key it got
 * there: one that failed is due again at the next sweep.
 *
 * @example
 * ```ts
 * const { due } = await sweep({ cluster, pods, clock, memory });
 * ```
 */
export async function sweep(deps: {
  cluster: string;
  pods: ClusterPods;
  clock: Clock;
  memory: SweepMemory;
  signal?: AbortSignal;
}): Promise<SweepResult> {
  const pods = await deps.pods.listPods(deps.signal);
  const now = deps.clock.now();
  deps.memory.prune(now);
  const stuck = stuckPulls(pods);
  const due = stuck
    .filter((s) => deps.memory.due(s.key, now))
    .map((s) => ({
      key: s.key,
      emitted: {
        detailType: DETAIL_TYPES.kubernetesEvent,
        detail: sweepEntry(deps.cluster, s, now),
      },
    }));
  return { stuck: stuck.length, due };
}
