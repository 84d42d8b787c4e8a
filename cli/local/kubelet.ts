import { type Note, nextOrder } from './gaps.ts';
import type { LocalNode } from './simulated-node.ts';

/** A pod whose pull failed, as the kubelet stand-in keeps it. */
export interface StuckPod {
  node: string;
  namespace: string;
  pod: string;
  podUid?: string;
  fieldPath?: string;
  image: string;
  /** Pull attempts that failed so far (the Event's count when it says more). */
  attempts: number;
  /** Event time (ms) of the last attempt: the back-off runs from there. */
  lastAttemptAt: number;
  /**
   * A pod its controller made in place of a deleted one: the kubelet
   * pulls its image at once, with no back-off behind it.
   */
  fresh?: boolean;
}

const PULL_FAILED = /^Failed to pull image "([^"]{1,512})"/;
const PULLING = /^Pulling image "([^"]{1,512})"/;

/** The kubelet's image pull back-off: 10 s, doubling, at most 300 s. */
export const BACKOFF_INITIAL_SECONDS = 10;
export const BACKOFF_MAX_SECONDS = 300;

/**
 * When the kubelet tries the pull again, after `attempts` failed attempts
 * the last of which was at `lastAttemptAt`, given that every attempt
 * before `roomAt` fails too (the disk is still full): the first point of
 * the back-off schedule at or after `roomAt`.
 *
 * @example
 * ```ts
 * nextRetryAt(3, 0, 0); // 40_000: the back-off after a third failure is 40 s
 * ```
 */
export function nextRetryAt(
  attempts: number,
  lastAttemptAt: number,
  roomAt: number
): number {
  let n = Math.max(1, attempts);
  let at =
    lastAttemptAt +
    Math.min(BACKOFF_INITIAL_SECONDS * 2 ** (n - 1), BACKOFF_MAX_SECONDS) *
      1000;
  while (at < roomAt) {
    n++;
    at +=
      Math.min(BACKOFF_INITIAL_SECONDS * 2 ** (n - 1), BACKOFF_MAX_SECONDS) *
      1000;
  }
  return at;
}

const timeOf = (event: Record<string, unknown>): number | undefined => {
  for (const field of ['lastTimestamp', 'eventTime', 'firstTimestamp']) {
    const value = event[field];
    if (typeof value === 'string') {
      const at = Date.parse(value);
      if (!Number.isNaN(at)) return at;
    }
  }
  return undefined;
};

/**
 * The kubelet's side of the story on the local nodes: it remembers which
 * pods' pulls fail (from the input events) and, once a node was pruned,
 * pulls again on the kubelet's own schedule: at the next point of its
 * back-off (10 s doubling to 300 s, in the events' time), or at once for a
 * pod a controller made in place of a deleted one. It emits the events a
 * kubelet would: Pulling, then Pulled/Created/Started, or Failed.
 *
 * @example
 * ```ts
 * const kubelet = new KubeletStandIn(localNodesByName, notes);
 * kubelet.observe(event);
 * const events = await kubelet.retryAfterPrune(['ip-10-0-1-149.ec2.internal']);
 * ```
 */
export class KubeletStandIn {
  readonly #nodes: ReadonlyMap<string, LocalNode>;
  readonly #notes: Note[];
  readonly #stuck = new Map<string, StuckPod>();
  readonly #running = new Set<string>();
  #retried = 0;
  #seq = 0;

  constructor(nodes: ReadonlyMap<string, LocalNode>, notes: Note[]) {
    this.#nodes = nodes;
    this.#notes = notes;
  }

  /** Learns of failing pulls from the events the runtime feeds in. */
  observe(event: Record<string, unknown>): void {
    const message = typeof event.message === 'string' ? event.message : '';
    const failed = message.match(PULL_FAILED)?.[1];
    const pulling = message.match(PULLING)?.[1];
    const involved = (event.involvedObject ?? {}) as Record<string, string>;
    const host = (event.source as Record<string, string> | undefined)?.host;
    if (!host || involved.kind !== 'Pod' || !this.#nodes.has(host)) return;
    const at = timeOf(event) ?? Date.now();
    const count = typeof event.count === 'number' ? event.count : 1;
    if (pulling) {
      // A new attempt at a pull that fails while the disk is full.
      const stuck = this.#stuck.get(this.#key(host, involved, pulling));
      if (stuck && at >= stuck.lastAttemptAt) {
        stuck.attempts = Math.max(stuck.attempts + 1, count);
        stuck.lastAttemptAt = at;
      }
      return;
    }
    if (!failed) return;
    const key = this.#key(host, involved, failed);
    if (this.#running.has(key)) return;
    const known = this.#stuck.get(key);
    this.#stuck.set(key, {
      node: host,
      namespace: involved.namespace ?? 'default',
      pod: involved.name ?? '',
      ...(involved.uid ? { podUid: involved.uid } : {}),
      ...(involved.fieldPath ? { fieldPath: involved.fieldPath } : {}),
      image: failed,
      attempts: Math.max(known?.attempts ?? 0, count),
      lastAttemptAt: Math.max(known?.lastAttemptAt ?? 0, at),
    });
  }

  /** The pods whose pull still fails, as a kubelet would report them. */
  stuckPods(): readonly StuckPod[] {
    return [...this.#stuck.values()];
  }

  /** Whether a pod of that name runs (its pull succeeded). */
  isRunning(namespace: string, name: string): boolean {
    return [...this.#running].some((k) => k.includes(`/${namespace}/${name}/`));
  }

  /**
   * A stuck pod was deleted: its controller makes `replacement` on the same
   * node, which pulls at once. No replacement for a pod with no controller.
   */
  replace(pod: StuckPod, replacement: string | undefined): void {
    for (const [key, stuck] of this.#stuck) {
      if (stuck === pod) this.#stuck.delete(key);
    }
    if (replacement === undefined) return;
    const { podUid: _gone, ...rest } = pod;
    this.#stuck.set(
      this.#key(
        pod.node,
        { namespace: pod.namespace, name: replacement },
        pod.image
      ),
      { ...rest, pod: replacement, attempts: 0, fresh: true }
    );
  }

  /**
   * Pulls again where there is room now: a fresh pod at once, a stuck one
   * at the next point of its back-off on the nodes pruned since the last
   * call, its events stamped with that time.
   */
  async retryAfterPrune(
    pruned: readonly string[]
  ): Promise<Record<string, unknown>[]> {
    const fresh = new Set(pruned.slice(this.#retried));
    this.#retried = pruned.length;
    const events: Record<string, unknown>[] = [];
    for (const [key, pull] of this.#stuck) {
      if (!pull.fresh && !fresh.has(pull.node)) continue;
      const node = this.#nodes.get(pull.node) as LocalNode;
      const now = Date.now();
      const at = pull.fresh
        ? now
        : nextRetryAt(pull.attempts, pull.lastAttemptAt, now);
      events.push(
        this.#event(
          pull,
          at,
          'Normal',
          'Pulling',
          `Pulling image "${pull.image}"`
        )
      );
      const result = await node.pull(pull.image);
      const tookMs = Date.now() - now;
      const took = (tookMs / 1000).toFixed(3);
      const done = at + tookMs;
      const waited = ((done - pull.lastAttemptAt) / 1000).toFixed(0);
      if (result.ok) {
        this.#stuck.delete(key);
        this.#running.add(key);
        const container = pull.fieldPath?.match(/\{(.+)\}/)?.[1] ?? 'main';
        events.push(
          this.#event(
            pull,
            done,
            'Normal',
            'Pulled',
            `Successfully pulled image "${pull.image}" in ${took}s (${took}s including waiting).`
          ),
          this.#event(
            pull,
            done,
            'Normal',
            'Created',
            `Created container: ${container}`
          ),
          this.#event(
            pull,
            done,
            'Normal',
            'Started',
            `Started container ${container}`
          )
        );
        this.#notes.push({
          at: new Date(),
          order: nextOrder(),
          who: node.kind,
          text: pull.fresh
            ? `kubelet stand-in pulled ${pull.image} for the new pod ${pull.namespace}/${pull.pod} on ${pull.node} at once: it started`
            : `kubelet stand-in retried the pull of ${pull.image} on ${pull.node} after its back-off (${waited} s after the last attempt, in the events' time): it succeeded, ${pull.namespace}/${pull.pod} started`,
        });
      } else {
        pull.attempts++;
        pull.lastAttemptAt = done;
        pull.fresh = false;
        events.push(
          this.#event(
            pull,
            done,
            'Warning',
            'Failed',
            `Failed to pull image "${pull.image}": ${result.message}`
          )
        );
        this.#notes.push({
          at: new Date(),
          order: nextOrder(),
          who: node.kind,
          text: `kubelet stand-in retried the pull of ${pull.image} on ${pull.node}: still no space`,
        });
      }
    }
    return events;
  }

  #key(
    node: string,
    pod: { namespace?: string; name?: string },
    image: string
  ): string {
    return `${node}/${pod.namespace ?? 'default'}/${pod.name ?? ''}/${image}`;
  }

  #event(
    pull: StuckPod,
    atMs: number,
    type: string,
    reason: string,
    message: string
  ) {
    const at = new Date(atMs).toISOString();
    this.#seq++;
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: `${pull.pod}.local${Date.now().toString(16)}${this.#seq}`,
        namespace: pull.namespace,
        uid: `local-${Date.now().toString(16)}-${this.#seq}`,
        creationTimestamp: at,
      },
      involvedObject: {
        kind: 'Pod',
        namespace: pull.namespace,
        name: pull.pod,
        ...(pull.podUid ? { uid: pull.podUid } : {}),
        ...(pull.fieldPath ? { fieldPath: pull.fieldPath } : {}),
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: 'kubelet', host: pull.node },
      reportingComponent: 'kubelet',
      reportingInstance: pull.node,
    };
  }
}
