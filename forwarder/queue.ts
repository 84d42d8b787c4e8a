import type { Priority } from './event.ts';

/** What the queue needs of an item: its identity and how much it matters. */
export interface Queueable {
  /** One event (its uid): a newer item with the same key replaces it. */
  readonly key: string;
  readonly priority: Priority;
  /** Roughly how many bytes the item holds (its message dominates). */
  readonly weight: number;
}

/**
 * What {@link BoundedQueue.push} did with the item: queued it, or replaced
 * the queued item with the same key (a newer count); and what it shed to
 * stay within bounds (possibly the pushed item itself).
 */
export interface PushOutcome<T> {
  kind: 'queued' | 'coalesced';
  replaced?: T;
  shed: T[];
}

/**
 * A bounded queue that keeps memory flat under an event storm, where
 * kubernetes-event-exporter starts a goroutine per event and is OOM-killed.
 *
 * - An item whose key is already queued replaces it in place: kubelet
 *   reports a repeating failure by bumping `count` on the same Event, and
 *   only the newest count is worth sending.
 * - Over `capacity` items or `maxWeight` bytes, it sheds the least useful
 *   items: the oldest of the lowest priority class, which is the pushed
 *   item itself when everything queued matters more. The caller counts and
 *   logs what was shed.
 * - Items leave highest priority first, oldest first within a class.
 *
 * @example
 * ```ts
 * const queue = new BoundedQueue<Item>(10_000, 32 * 1024 * 1024);
 * const outcome = queue.push(item);
 * metrics.shed.inc({}, outcome.shed.length);
 * const next = queue.shift();
 * ```
 */
export class BoundedQueue<T extends Queueable> {
  readonly capacity: number;
  readonly maxWeight: number;
  // One insertion-ordered map per priority class: O(1) push, replace,
  // shed-oldest and shift.
  readonly #classes: [Map<string, T>, Map<string, T>, Map<string, T>] = [
    new Map(),
    new Map(),
    new Map(),
  ];
  #size = 0;
  #weight = 0;

  constructor(capacity: number, maxWeight = Number.POSITIVE_INFINITY) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`queue capacity must be ≥ 1, got ${capacity}`);
    }
    this.capacity = capacity;
    this.maxWeight = maxWeight;
  }

  get size(): number {
    return this.#size;
  }

  get weight(): number {
    return this.#weight;
  }

  /** Whether an item with this key is queued. */
  has(key: string): boolean {
    return this.#classes.some((c) => c.has(key));
  }

  push(item: T): PushOutcome<T> {
    let outcome: PushOutcome<T> = { kind: 'queued', shed: [] };
    const cls = this.#classes[item.priority];
    const queued = this.#classes.find((c) => c.has(item.key))?.get(item.key);
    if (queued) {
      // Same position: the event keeps its turn.
      this.#classes[queued.priority].set(item.key, item);
      this.#weight += item.weight - queued.weight;
      outcome = { kind: 'coalesced', replaced: queued, shed: [] };
    } else {
      cls.set(item.key, item);
      this.#size += 1;
      this.#weight += item.weight;
    }
    while (
      this.#size > 0 &&
      (this.#size > this.capacity || this.#weight > this.maxWeight)
    ) {
      const lowest = this.#classes.find((c) => c.size > 0) as Map<string, T>;
      const [key, oldest] = lowest.entries().next().value as [string, T];
      lowest.delete(key);
      this.#size -= 1;
      this.#weight -= oldest.weight;
      outcome.shed.push(oldest);
    }
    return outcome;
  }

  /** The next item to send, or undefined when empty. */
  shift(): T | undefined {
    for (let p = 2; p >= 0; p--) {
      const cls = this.#classes[p as Priority];
      const first = cls.entries().next();
      if (!first.done) {
        cls.delete(first.value[0]);
        this.#size -= 1;
        this.#weight -= first.value[1].weight;
        return first.value[1];
      }
    }
    return undefined;
  }

  /** Removes and returns everything queued (used when giving up on drain). */
  clear(): T[] {
    const all = this.#classes.flatMap((c) => [...c.values()]);
    for (const c of this.#classes) c.clear();
    this.#size = 0;
    this.#weight = 0;
    return all;
  }
}
