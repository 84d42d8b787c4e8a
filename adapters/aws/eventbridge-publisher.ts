import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { AwsCallError } from '../../core/errors.ts';
import type { Emitted, EventPublisher } from '../../core/ports.ts';
import { SOURCES } from '../../events/detail-types.ts';
import { wrapAwsError } from './errors.ts';

/** PutEvents takes at most ten entries a call… */
const MAX_ENTRIES = 10;
/** …and at most 256 KB of them (EventBridge's PutEvents quotas). */
const MAX_REQUEST_BYTES = 256 * 1024;

/**
 * An entry's size as EventBridge counts it against the 256 KB: its Source,
 * DetailType and Detail in UTF-8, its resources, and 14 bytes for a Time
 * (see "Calculating PutEvents event entry size" in the EventBridge guide).
 */
export const entrySize = (e: PutEventsRequestEntry): number =>
  (e.Time ? 14 : 0) +
  Buffer.byteLength(e.Source ?? '') +
  Buffer.byteLength(e.DetailType ?? '') +
  Buffer.byteLength(e.Detail ?? '') +
  (e.Resources ?? []).reduce((n, r) => n + Buffer.byteLength(r), 0);

interface Waiting {
  entries: PutEventsRequestEntry[];
  done: () => void;
  failed: (err: unknown) => void;
}

/**
 * Puts pipeline events on the pullmedic bus. The publishes of one turn of
 * the event loop (a batch's records, handled side by side) go out
 * together, ten entries and at most 256 KB a call: a storm's thousand
 * classifications take a hundred calls, not a thousand. Each publish
 * still succeeds or fails on its own entries alone: only the entries
 * EventBridge rejected (PutEvents fails per entry inside an HTTP 200) are
 * sent again, with backoff, and a publish fails when one of its own
 * entries still fails.
 *
 * @example
 * ```ts
 * const bus = new EventBridgePublisher(eventBridge, 'pullmedic', 3);
 * await bus.publish([{ detailType: 'Incident Opened', detail }]);
 * ```
 */
export class EventBridgePublisher implements EventPublisher {
  readonly #client: EventBridgeClient;
  readonly #bus: string;
  readonly #attempts: number;
  readonly #sleep: (ms: number) => Promise<void>;
  #waiting: Waiting[] = [];

  constructor(
    client: EventBridgeClient,
    bus: string,
    attempts: number,
    sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((r) => setTimeout(r, ms))
  ) {
    this.#client = client;
    this.#bus = bus;
    this.#attempts = attempts;
    this.#sleep = sleep;
  }

  publish(events: Emitted[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const entries: PutEventsRequestEntry[] = events.map((e) => ({
      EventBusName: this.#bus,
      Source: SOURCES.pipeline,
      DetailType: e.detailType,
      Detail: JSON.stringify(e.detail),
    }));
    const tooBig = entries.find((e) => entrySize(e) > MAX_REQUEST_BYTES);
    if (tooBig) {
      return Promise.reject(
        new AwsCallError(
          `putting a ${tooBig.DetailType} event on ${this.#bus}: it is ${entrySize(tooBig)} bytes, more than PutEvents takes (256 KB)`,
          { permanent: true }
        )
      );
    }
    return new Promise((done, failed) => {
      if (this.#waiting.length === 0) setImmediate(() => void this.#flush());
      this.#waiting.push({ entries, done, failed });
    });
  }

  /** Sends what waits, in calls PutEvents takes; settles each publish. */
  async #flush(): Promise<void> {
    const waiting = this.#waiting;
    this.#waiting = [];
    const owned = waiting.flatMap((w, owner) =>
      w.entries.map((entry) => ({ entry, owner }))
    );
    // The first error of each publish, by its position in `waiting`.
    const errors = new Map<number, unknown>();
    const fail = (owner: number, err: unknown) => {
      if (!errors.has(owner)) errors.set(owner, err);
    };
    for (const call of calls(owned)) {
      try {
        const rejected = await this.#put(call.map((c) => c.entry));
        for (const [i, code] of rejected) {
          fail(
            call[i]?.owner as number,
            new AwsCallError(
              `putting events on ${this.#bus} (an entry still rejected after ${this.#attempts} attempts: ${code})`
            )
          );
        }
      } catch (err) {
        for (const c of call) fail(c.owner, err);
      }
    }
    for (const [owner, w] of waiting.entries()) {
      if (errors.has(owner)) w.failed(errors.get(owner));
      else w.done();
    }
  }

  /**
   * One call's entries, resent while EventBridge rejects some: the
   * positions still rejected after the last attempt, with their codes.
   */
  async #put(entries: PutEventsRequestEntry[]): Promise<Map<number, string>> {
    let pending = entries.map((entry, i) => ({ entry, i }));
    const rejected = new Map<number, string>();
    for (
      let attempt = 1;
      attempt <= this.#attempts && pending.length;
      attempt++
    ) {
      if (attempt > 1)
        await this.#sleep(100 * 2 ** attempt * (0.5 + Math.random()));
      let out: PutEventsCommandOutput;
      try {
        out = await this.#client.send(
          new PutEventsCommand({ Entries: pending.map((p) => p.entry) })
        );
      } catch (err) {
        throw wrapAwsError(
          `putting ${pending.length} events on ${this.#bus}`,
          err
        );
      }
      rejected.clear();
      pending = pending.filter((p, k) => {
        const code = out.Entries?.[k]?.ErrorCode;
        if (code) rejected.set(p.i, code);
        return code !== undefined;
      });
    }
    return rejected;
  }
}

/** Entries in calls of at most ten and at most 256 KB, in order. */
function calls<T extends { entry: PutEventsRequestEntry }>(owned: T[]): T[][] {
  const out: T[][] = [];
  let call: T[] = [];
  let bytes = 0;
  for (const o of owned) {
    const size = entrySize(o.entry);
    if (
      call.length === MAX_ENTRIES ||
      (call.length > 0 && bytes + size > MAX_REQUEST_BYTES)
    ) {
      out.push(call);
      call = [];
      bytes = 0;
    }
    call.push(o);
    bytes += size;
  }
  if (call.length) out.push(call);
  return out;
}
