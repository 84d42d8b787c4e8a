import {
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import {
  PERMANENT_CODES,
  SinkClosedError,
  SinkDeliveryError,
} from '../errors.ts';
import type { Log } from '../log.ts';
import type { ForwardedEvent, Sink } from './sink.ts';

/** EventBridge's limits on one PutEvents request. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

/** What the sink needs of an EventBridge client (the SDK's satisfies it). */
export interface PutEventsClient {
  send(
    command: PutEventsCommand,
    options?: { abortSignal?: AbortSignal }
  ): Promise<PutEventsCommandOutput>;
}

/** Counters the sink reports to (ForwarderMetrics has them). */
export interface SinkMetrics {
  putCalls: { inc(labels?: Record<string, string>): void };
  batchSize: { observe(value: number): void };
  retries: { inc(labels?: Record<string, string>, by?: number): void };
}

export interface EventBridgeSinkOptions {
  /** Entries per call, at most 10. */
  batchSize?: number;
  /** How long a partial batch waits for company. */
  flushMs?: number;
  /** Attempts per entry, the first included. */
  maxAttempts?: number;
  /** PutEvents calls in flight at once. */
  concurrency?: number;
  /** First backoff and its cap, in ms (full jitter in between). */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  metrics?: SinkMetrics;
  log?: Log;
  random?: () => number;
}

interface Pending {
  ev: ForwardedEvent;
  bytes: number;
  attempts: number;
  /** The ErrorCode of the last failed attempt. */
  code: string;
  signal: AbortSignal;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * EventBridge's size of an entry (its PutEvents entry-size rule: Time is
 * 14 bytes, then the UTF-8 bytes of Source, DetailType, Detail and each
 * Resource), plus the bus name to stay on the safe side.
 *
 * @example
 * ```ts
 * entrySize({ Source: 's', DetailType: 'd', Detail: '{}' }); // 18
 * ```
 */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? 14 : 0;
  for (const s of [
    entry.Source,
    entry.DetailType,
    entry.Detail,
    entry.EventBusName,
    ...(entry.Resources ?? []),
  ]) {
    if (s) size += Buffer.byteLength(s);
  }
  return size;
}

/**
 * Puts forwarded events on the bus in batches: up to 10 entries and under
 * 256 KB a call, a partial batch after `flushMs`, a few calls in flight.
 * Only the entries that failed are sent again (PutEvents fails per entry
 * inside an HTTP 200; kubernetes-event-exporter never reads
 * FailedEntryCount), with exponential backoff and full jitter; codes that
 * cannot succeed (MalformedDetail, InvalidArgument) are not retried.
 *
 * @example
 * ```ts
 * const sink = new EventBridgeSink(new EventBridgeClient({}), { flushMs: 200 });
 * await sink.send(ev, signal); // resolves when EventBridge accepted it
 * await sink.close();
 * ```
 */
export class EventBridgeSink implements Sink {
  readonly #client: PutEventsClient;
  readonly #batchSize: number;
  readonly #flushMs: number;
  readonly #maxAttempts: number;
  readonly #concurrency: number;
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #metrics: SinkMetrics | undefined;
  readonly #log: Log | undefined;
  readonly #random: () => number;

  #ready: Pending[] = [];
  #readyBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #due = false;
  #active = 0;
  #unsettled = 0;
  #retryTimers = new Map<NodeJS.Timeout, Pending[]>();
  #closing = false;
  #idle: (() => void) | undefined;

  constructor(client: PutEventsClient, options: EventBridgeSinkOptions = {}) {
    this.#client = client;
    this.#batchSize = Math.min(
      options.batchSize ?? PUT_EVENTS_MAX_ENTRIES,
      PUT_EVENTS_MAX_ENTRIES
    );
    this.#flushMs = options.flushMs ?? 200;
    this.#maxAttempts = options.maxAttempts ?? 8;
    this.#concurrency = options.concurrency ?? 4;
    this.#baseMs = options.backoffBaseMs ?? 100;
    this.#capMs = options.backoffCapMs ?? 10_000;
    this.#metrics = options.metrics;
    this.#log = options.log;
    this.#random = options.random ?? Math.random;
  }

  send(ev: ForwardedEvent, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#closing) return reject(new SinkClosedError());
      if (signal.aborted) return reject(new SinkClosedError('send aborted'));
      const bytes = entrySize(ev.entry);
      if (bytes > PUT_EVENTS_MAX_BYTES) {
        // Fails alone: in a batch it would fail the whole request.
        return reject(
          new SinkDeliveryError(
            `entry for ${ev.key} is ${bytes} bytes, over EventBridge's 256 KB`,
            'EntryTooLarge',
            0
          )
        );
      }
      this.#unsettled += 1;
      this.#enqueue({
        ev,
        bytes,
        attempts: 0,
        code: '',
        signal,
        resolve,
        reject,
      });
    });
  }

  /** Sends what is pending now, waits for every entry to settle. */
  async close(): Promise<void> {
    this.#closing = true;
    // Cut the backoff short: the forwarder's drain deadline bounds close.
    for (const [timer, batch] of this.#retryTimers) {
      clearTimeout(timer);
      this.#retryTimers.delete(timer);
      for (const p of batch) this.#enqueue(p);
    }
    this.#due = true;
    this.#pump();
    if (this.#unsettled === 0) return;
    await new Promise<void>((r) => {
      this.#idle = r;
    });
  }

  #enqueue(p: Pending): void {
    this.#ready.push(p);
    this.#readyBytes += p.bytes;
    if (
      this.#ready.length >= this.#batchSize ||
      this.#readyBytes >= PUT_EVENTS_MAX_BYTES ||
      this.#closing
    ) {
      this.#pump();
    }
    if (this.#ready.length > 0 && !this.#timer && !this.#due) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#due = true;
        this.#pump();
      }, this.#flushMs);
    }
  }

  // Starts calls while there is room: full batches always, a partial one
  // only once the flush timer has fired (or on close).
  #pump(): void {
    while (this.#active < this.#concurrency && this.#ready.length > 0) {
      const full =
        this.#ready.length >= this.#batchSize ||
        this.#readyBytes >= PUT_EVENTS_MAX_BYTES;
      if (!full && !this.#due) break;
      const batch = this.#takeBatch();
      if (batch.length === 0) continue;
      this.#active += 1;
      void this.#put(batch).finally(() => {
        this.#active -= 1;
        this.#pump();
      });
    }
    if (this.#ready.length === 0) {
      this.#due = false;
      if (this.#timer) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
    }
  }

  #takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let bytes = 0;
    while (this.#ready.length > 0 && batch.length < this.#batchSize) {
      const next = this.#ready[0] as Pending;
      if (batch.length > 0 && bytes + next.bytes > PUT_EVENTS_MAX_BYTES) break;
      this.#ready.shift();
      this.#readyBytes -= next.bytes;
      if (next.signal.aborted) {
        this.#settle(next, new SinkClosedError('send aborted'));
        continue;
      }
      batch.push(next);
      bytes += next.bytes;
    }
    return batch;
  }

  async #put(batch: Pending[]): Promise<void> {
    for (const p of batch) p.attempts += 1;
    this.#metrics?.batchSize.observe(batch.length);
    let out: PutEventsCommandOutput;
    try {
      out = await this.#client.send(
        new PutEventsCommand({ Entries: batch.map((p) => p.ev.entry) })
      );
    } catch (err) {
      this.#metrics?.putCalls.inc({ outcome: 'error' });
      const code = err instanceof Error ? err.name : 'Error';
      this.#log?.warn('PutEvents call failed', {
        entries: batch.length,
        error: err,
      });
      this.#retryOrFail(batch, code, err);
      return;
    }
    const failed: Pending[] = [];
    let lastCode = '';
    batch.forEach((p, i) => {
      const result = out.Entries?.[i];
      if (result?.EventId && !result.ErrorCode) {
        this.#settle(p);
      } else {
        lastCode = result?.ErrorCode ?? 'MissingEntryResult';
        p.code = lastCode;
        failed.push(p);
      }
    });
    this.#metrics?.putCalls.inc({ outcome: failed.length ? 'partial' : 'ok' });
    if (failed.length === 0) return;
    this.#log?.warn('PutEvents rejected entries', {
      failed: failed.length,
      of: batch.length,
      code: lastCode,
    });
    const byCode = Map.groupBy(failed, (p) => p.code);
    for (const [code, group] of byCode) this.#retryOrFail(group, code);
  }

  #retryOrFail(batch: Pending[], code: string, cause?: unknown): void {
    const again: Pending[] = [];
    for (const p of batch) {
      if (PERMANENT_CODES.has(code) || p.attempts >= this.#maxAttempts) {
        this.#settle(
          p,
          new SinkDeliveryError(
            `giving up on ${p.ev.key} after ${p.attempts} attempts: ${code}`,
            code,
            p.attempts,
            cause === undefined ? undefined : { cause }
          )
        );
      } else if (p.signal.aborted) {
        this.#settle(p, new SinkClosedError('send aborted'));
      } else {
        again.push(p);
      }
    }
    if (again.length === 0) return;
    this.#metrics?.retries.inc({ code }, again.length);
    const attempt = Math.max(...again.map((p) => p.attempts));
    if (this.#closing) {
      for (const p of again) this.#enqueue(p);
      this.#due = true;
      this.#pump();
      return;
    }
    const ceiling = Math.min(this.#capMs, this.#baseMs * 2 ** (attempt - 1));
    const delay = Math.floor(this.#random() * ceiling);
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer);
      for (const p of again) this.#enqueue(p);
    }, delay);
    this.#retryTimers.set(timer, again);
  }

  #settle(p: Pending, err?: Error): void {
    if (err) p.reject(err);
    else p.resolve();
    this.#unsettled -= 1;
    if (this.#unsettled === 0 && this.#idle) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }
}
