import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { AwsCallError } from '../../core/errors.ts';
import type { Emitted, EventPublisher } from '../../core/ports.ts';
import { SOURCES } from '../../events/detail-types.ts';

const MAX_ENTRIES = 10;

/**
 * Puts pipeline events on the pullmedic bus, ten per call, and resends
 * only the entries EventBridge rejected (PutEvents fails per entry inside
 * an HTTP 200), with backoff.
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

  async publish(events: Emitted[]): Promise<void> {
    const entries: PutEventsRequestEntry[] = events.map((e) => ({
      EventBusName: this.#bus,
      Source: SOURCES.pipeline,
      DetailType: e.detailType,
      Detail: JSON.stringify(e.detail),
    }));
    for (let i = 0; i < entries.length; i += MAX_ENTRIES) {
      await this.#put(entries.slice(i, i + MAX_ENTRIES));
    }
  }

  async #put(batch: PutEventsRequestEntry[]): Promise<void> {
    let pending = batch;
    let lastError = '';
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
          new PutEventsCommand({ Entries: pending })
        );
      } catch (err) {
        throw new AwsCallError(
          `putting ${pending.length} events on ${this.#bus}`,
          { cause: err }
        );
      }
      const failed = pending.filter((_, i) => out.Entries?.[i]?.ErrorCode);
      lastError = out.Entries?.find((e) => e.ErrorCode)?.ErrorCode ?? '';
      pending = failed;
    }
    if (pending.length) {
      throw new AwsCallError(
        `putting events on ${this.#bus}: ${pending.length} entries still failing (${lastError})`
      );
    }
  }
}
