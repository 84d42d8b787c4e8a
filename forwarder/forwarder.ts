import type { Checkpoint } from './checkpoint.ts';
import { SinkDeliveryError } from './errors.ts';
import {
  eventCount,
  eventKey,
  eventTime,
  type KubeObject,
  type Priority,
  priorityOf,
} from './event.ts';
import type { Log } from './log.ts';
import type { ForwarderMetrics } from './metrics.ts';
import { Progress } from './progress.ts';
import { BoundedQueue } from './queue.ts';
import type { Sink } from './sinks/sink.ts';
import { type NodeInfo, toPutEventsEntry } from './transform.ts';
import type { StreamHandler } from './watcher.ts';

export interface ForwarderOptions {
  cluster: string;
  busName: string;
  sink: Sink;
  metrics: ForwarderMetrics;
  log: Log;
  /** Node name → providerID, kept current by the Node informer. */
  nodes: ReadonlyMap<string, NodeInfo>;
  api: Checkpoint['api'];
  /** On a list without a checkpoint, events older than this are dropped. */
  maxAgeSeconds: number;
  queueCapacity: number;
  /** Bytes the queued events may hold, roughly (their messages). */
  queueMaxBytes?: number;
  /** Entries handed to the sink and not yet settled, at most. */
  maxInFlight: number;
  /** How many sent events the checkpoint remembers. */
  checkpointKeys: number;
  /**
   * How long the queue waits before sending again after an entry it had
   * to queue again (default 1000 ms): an outage is not sent a tight loop.
   */
  retryPauseMs?: number;
  /** The checkpoint loaded at start, if any. */
  checkpoint?: Checkpoint | undefined;
  now?: () => number;
}

interface Item {
  readonly key: string;
  readonly priority: Priority;
  readonly weight: number;
  readonly count: number;
  readonly occurredAt: number;
  readonly event: KubeObject;
  readonly progress: Progress;
  readonly token: number;
}

// A relist after a restart also forwards what happened up to this long
// before the checkpoint was saved: the checkpoint may lag the last send.
const CHECKPOINT_SLACK_MS = 60_000;
const SHED_LOG_EVERY_MS = 5_000;
const PRIORITY_NAMES = ['normal', 'warning', 'pipeline'] as const;

/**
 * The forwarder's core, between the watch streams and the sink: decides
 * what is worth sending (a new event, or a repeat that raised `count`),
 * queues it in a bounded queue, hands it to the sink with a cap on what is
 * in flight, and tracks per stream the resourceVersion it may resume from.
 *
 * @example
 * ```ts
 * const forwarder = new Forwarder({ cluster, busName, sink, metrics, log, nodes,
 *   api: 'core', maxAgeSeconds: 600, queueCapacity: 20_000, maxInFlight: 200,
 *   checkpointKeys: 5000 });
 * const stream = new EventStream({ …, handler: forwarder.handlerFor('type=Warning') });
 * await forwarder.drain(20_000);
 * await store.save(forwarder.checkpoint());
 * ```
 */
export class Forwarder {
  readonly #o: ForwarderOptions;
  readonly #now: () => number;
  readonly #queue: BoundedQueue<Item>;
  readonly #progress = new Map<string, Progress>();
  /** uid → highest count accepted (queued or sent): the dedupe. */
  readonly #accepted = new Map<string, number>();
  /** uid → highest count settled as sent: what the checkpoint keeps. */
  readonly #sent = new Map<string, number>();
  readonly #lastSeen = new Map<string, number>();
  readonly #abort = new AbortController();
  readonly #synced = new Set<string>();
  #inFlight = 0;
  #draining = false;
  #idleWaiters: (() => void)[] = [];
  #savedAt: number | undefined;
  #shed = { since: 0, counts: [0, 0, 0] };

  constructor(options: ForwarderOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#queue = new BoundedQueue<Item>(
      options.queueCapacity,
      options.queueMaxBytes
    );
    const cp = options.checkpoint;
    if (cp && cp.api === options.api) {
      this.#savedAt = Date.parse(cp.savedAt);
      for (const [key, count] of cp.sent) {
        this.#accepted.set(key, count);
        this.#sent.set(key, count);
      }
    }
  }

  /** Where a stream with this selector resumes, from the checkpoint. */
  resumeFrom(selector: string): string | undefined {
    const cp = this.#o.checkpoint;
    if (!cp || cp.api !== this.#o.api) return undefined;
    return cp.streams[selector] || undefined;
  }

  /** True once every stream that started has finished its first sync. */
  get synced(): boolean {
    return [...this.#progress.keys()].every((s) => this.#synced.has(s));
  }

  get queued(): number {
    return this.#queue.size;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** The StreamHandler for the stream watching with `selector`. */
  handlerFor(selector: string): StreamHandler {
    const progress = new Progress(this.resumeFrom(selector));
    this.#progress.set(selector, progress);
    if (progress.committed) this.#synced.add(selector);
    this.#lastSeen.set(selector, this.#savedAt ?? this.#now());
    let cutoff = 0;
    return {
      onRelist: () => {
        const byAge = this.#now() - this.#o.maxAgeSeconds * 1000;
        const lastSeen = this.#lastSeen.get(selector);
        // Without a checkpoint, maxAge bounds the flood of old events a
        // first list brings. With one (or after a 410 mid-run), everything
        // since we last heard from the API server is forwarded too, however
        // old: that is what arrived while the watch was down.
        cutoff =
          lastSeen !== undefined &&
          (this.#savedAt !== undefined || this.#synced.has(selector))
            ? Math.min(byAge, lastSeen - CHECKPOINT_SLACK_MS)
            : byAge;
      },
      onEvent: (event, rv, phase) => {
        this.#lastSeen.set(selector, this.#now());
        this.#ingest(event, rv, phase === 'list' ? cutoff : 0, progress);
      },
      onProgress: (rv) => {
        this.#lastSeen.set(selector, this.#now());
        progress.advance(rv);
        this.#synced.add(selector);
      },
    };
  }

  #ingest(
    event: KubeObject,
    rv: string,
    cutoff: number,
    progress: Progress
  ): void {
    const { metrics } = this.#o;
    const key = eventKey(event);
    if (!key) {
      metrics.received.inc({ outcome: 'malformed' });
      progress.advance(rv);
      return;
    }
    const count = eventCount(event);
    const accepted = this.#accepted.get(key);
    if (accepted !== undefined && count <= accepted) {
      metrics.received.inc({ outcome: 'duplicate' });
      progress.advance(rv);
      return;
    }
    const occurredAt = eventTime(event);
    if (accepted === undefined && cutoff > 0 && occurredAt < cutoff) {
      metrics.received.inc({ outcome: 'too_old' });
      progress.advance(rv);
      return;
    }
    remember(this.#accepted, key, count, this.#o.checkpointKeys * 4);
    const item: Item = {
      key,
      priority: priorityOf(event),
      weight: weightOf(event),
      count,
      occurredAt,
      event,
      progress,
      token: progress.track(rv),
    };
    const outcome = this.#queue.push(item);
    metrics.received.inc({ outcome: 'queued' });
    if (outcome.replaced) {
      metrics.coalesced.inc();
      outcome.replaced.progress.settle(outcome.replaced.token);
    }
    for (const shed of outcome.shed) this.#recordShed(shed);
    metrics.queueDepth.set(this.#queue.size);
    this.#pump();
  }

  #recordShed(item: Item): void {
    this.#o.metrics.shed.inc({ priority: PRIORITY_NAMES[item.priority] });
    item.progress.settle(item.token);
    // Shed events are not sent: forget them so a later repeat is.
    if (this.#accepted.get(item.key) === item.count) {
      this.#accepted.delete(item.key);
    }
    const counts = this.#shed.counts;
    counts[item.priority] = (counts[item.priority] ?? 0) + 1;
    const now = this.#now();
    if (now - this.#shed.since >= SHED_LOG_EVERY_MS) {
      this.#o.log.warn('queue full: shed events', {
        normal: counts[0],
        warning: counts[1],
        pipeline: counts[2],
        capacity: this.#queue.capacity,
      });
      this.#shed = { since: now, counts: [0, 0, 0] };
    }
  }

  #pump(): void {
    while (this.#inFlight < this.#o.maxInFlight) {
      const item = this.#queue.shift();
      if (!item) break;
      this.#inFlight += 1;
      void this.#send(item);
    }
    this.#o.metrics.queueDepth.set(this.#queue.size);
    this.#o.metrics.inFlight.set(this.#inFlight);
  }

  async #send(item: Item): Promise<void> {
    const { metrics } = this.#o;
    let requeued = false;
    try {
      const entry = toPutEventsEntry(item.event, {
        cluster: this.#o.cluster,
        busName: this.#o.busName,
        nodes: this.#o.nodes,
      });
      const message = item.event.message;
      if (
        typeof message === 'string' &&
        message.length > 64 * 1024 &&
        (entry.Detail?.length ?? 0) < Buffer.byteLength(message)
      ) {
        metrics.truncated.inc();
      }
      await this.#o.sink.send(
        {
          key: item.key,
          count: item.count,
          occurredAt: item.occurredAt,
          entry,
        },
        this.#abort.signal
      );
      metrics.forwarded.inc();
      if (item.occurredAt > 0) {
        metrics.lag.observe(Math.max(0, this.#now() - item.occurredAt) / 1000);
      }
      const sent = this.#sent.get(item.key) ?? 0;
      if (item.count > sent) {
        remember(this.#sent, item.key, item.count, this.#o.checkpointKeys);
      }
    } catch (err) {
      requeued = this.#afterFailure(item, err);
    } finally {
      if (!requeued) item.progress.settle(item.token);
      this.#inFlight -= 1;
      if (requeued) {
        setTimeout(() => this.#pump(), this.#o.retryPauseMs ?? 1000).unref();
      } else {
        this.#pump();
      }
      if (this.#inFlight === 0 && this.#queue.size === 0) {
        for (const wake of this.#idleWaiters.splice(0)) wake();
      }
    }
  }

  /**
   * What becomes of an item the sink could not send; true when it is held
   * (queued again, or shed and settled by the shedding). Held, not given
   * up: back in the queue, the resume point stays before it and it goes
   * out once EventBridge takes it again. The sink's backoff paces the
   * tries; the bounded queue still sheds the least useful events first if
   * the outage lasts. While draining, a failure is final: a stop must not
   * wait on an outage.
   */
  #afterFailure(item: Item, err: unknown): boolean {
    const { metrics, log } = this.#o;
    const again =
      err instanceof SinkDeliveryError && err.retryable && !this.#draining
        ? this.#requeue(item)
        : 'given-up';
    if (again === 'queued') {
      metrics.retries.inc();
      log.warn('event not forwarded yet: queued again', {
        key: item.key,
        code: (err as SinkDeliveryError).code,
      });
    } else if (again === 'superseded') {
      metrics.coalesced.inc();
    } else if (again === 'given-up') {
      const code = err instanceof SinkDeliveryError ? err.code : 'closed';
      metrics.failed.inc({ code });
      log.warn('event not forwarded', { key: item.key, error: err });
    }
    return again === 'queued' || again === 'shed';
  }

  /**
   * Puts an item that failed for now back in the queue. `superseded` when a
   * newer count of the same event is queued or sent: that one stands for
   * it. `shed` when the queue, full, dropped it (and counted it).
   */
  #requeue(item: Item): 'queued' | 'superseded' | 'shed' {
    if ((this.#accepted.get(item.key) ?? 0) > item.count) return 'superseded';
    if (this.#queue.has(item.key)) return 'superseded';
    const outcome = this.#queue.push(item);
    for (const shed of outcome.shed) this.#recordShed(shed);
    return outcome.shed.includes(item) ? 'shed' : 'queued';
  }

  /**
   * Waits until everything queued or in flight has settled, at most
   * `timeoutMs`; then aborts what is left (counted as failed) and closes
   * the sink. Call it after the streams stop.
   */
  async drain(timeoutMs: number): Promise<{ complete: boolean }> {
    this.#draining = true;
    let complete = true;
    if (this.#inFlight > 0 || this.#queue.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      complete = await Promise.race([
        new Promise<boolean>((r) => this.#idleWaiters.push(() => r(true))),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    if (!complete) {
      const left = this.#queue.clear();
      this.#o.metrics.failed.inc({ code: 'drain_timeout' }, left.length);
      for (const item of left) item.progress.settle(item.token);
      this.#o.log.error('drain timed out', {
        queued: left.length,
        inFlight: this.#inFlight,
      });
      this.#abort.abort();
    }
    await this.#o.sink.close();
    return { complete };
  }

  /** The resume point and recent sends, for the CheckpointStore. */
  checkpoint(): Checkpoint {
    return {
      version: 1,
      savedAt: new Date(this.#now()).toISOString(),
      api: this.#o.api,
      streams: Object.fromEntries(
        [...this.#progress].map(([s, p]) => [s, p.committed])
      ),
      sent: [...this.#sent],
    };
  }
}

// What a queued event holds, roughly: its message is the unbounded part;
// the rest of a kubelet event is well under a kilobyte.
function weightOf(event: KubeObject): number {
  const message = event.message;
  return 1024 + (typeof message === 'string' ? message.length : 0);
}

// An LRU by insertion order: re-setting a key moves it to the end.
function remember(
  map: Map<string, number>,
  key: string,
  count: number,
  limit: number
): void {
  map.delete(key);
  map.set(key, count);
  while (map.size > limit) {
    const oldest = map.keys().next().value as string;
    map.delete(oldest);
  }
}
