import { type Note, nextOrder } from './gaps.ts';
import type { LocalNode } from './simulated-node.ts';

interface PendingPull {
  node: string;
  namespace: string;
  pod: string;
  podUid?: string;
  fieldPath?: string;
  image: string;
}

const PULL_FAILED = /^Failed to pull image "([^"]{1,512})"/;

/**
 * The kubelet's side of the story on the local nodes: it remembers which
 * pods' pulls failed (from the input events) and, after a node was pruned,
 * retries the pull the way the kubelet's back-off does, emitting the
 * events a kubelet would: Pulling, then Pulled/Created/Started, or Failed.
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
  readonly #pending = new Map<string, PendingPull>();
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
    const image = message.match(PULL_FAILED)?.[1];
    const involved = (event.involvedObject ?? {}) as Record<string, string>;
    const host = (event.source as Record<string, string> | undefined)?.host;
    if (!image || !host || involved.kind !== 'Pod' || !this.#nodes.has(host))
      return;
    const key = `${host}/${involved.namespace}/${involved.name}/${image}`;
    if (this.#running.has(key)) return;
    this.#pending.set(key, {
      node: host,
      namespace: involved.namespace ?? 'default',
      pod: involved.name ?? '',
      ...(involved.uid ? { podUid: involved.uid } : {}),
      ...(involved.fieldPath ? { fieldPath: involved.fieldPath } : {}),
      image,
    });
  }

  /** Retries the pending pulls on nodes pruned since the last call. */
  async retryAfterPrune(
    pruned: readonly string[]
  ): Promise<Record<string, unknown>[]> {
    const fresh = new Set(pruned.slice(this.#retried));
    this.#retried = pruned.length;
    const events: Record<string, unknown>[] = [];
    for (const [key, pull] of this.#pending) {
      if (!fresh.has(pull.node)) continue;
      const node = this.#nodes.get(pull.node) as LocalNode;
      const started = Date.now();
      events.push(
        this.#event(pull, 'Normal', 'Pulling', `Pulling image "${pull.image}"`)
      );
      const result = await node.pull(pull.image);
      const took = ((Date.now() - started) / 1000).toFixed(3);
      if (result.ok) {
        this.#pending.delete(key);
        this.#running.add(key);
        const container = pull.fieldPath?.match(/\{(.+)\}/)?.[1] ?? 'main';
        events.push(
          this.#event(
            pull,
            'Normal',
            'Pulled',
            `Successfully pulled image "${pull.image}" in ${took}s (${took}s including waiting).`
          ),
          this.#event(
            pull,
            'Normal',
            'Created',
            `Created container: ${container}`
          ),
          this.#event(
            pull,
            'Normal',
            'Started',
            `Started container ${container}`
          )
        );
        this.#notes.push({
          at: new Date(),
          order: nextOrder(),
          who: node.kind,
          text: `kubelet stand-in retried the pull of ${pull.image} on ${pull.node}: it succeeded, ${pull.namespace}/${pull.pod} started`,
        });
      } else {
        events.push(
          this.#event(
            pull,
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

  #event(pull: PendingPull, type: string, reason: string, message: string) {
    const now = new Date().toISOString();
    this.#seq++;
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: `${pull.pod}.local${Date.now().toString(16)}${this.#seq}`,
        namespace: pull.namespace,
        uid: `local-${Date.now().toString(16)}-${this.#seq}`,
        creationTimestamp: now,
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
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: 'kubelet', host: pull.node },
      reportingComponent: 'kubelet',
      reportingInstance: pull.node,
    };
  }
}
