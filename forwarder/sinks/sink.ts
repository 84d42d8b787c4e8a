import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';

/** One event on its way out: its identity and the PutEvents entry. */
export interface ForwardedEvent {
  /** The Event's uid (see eventKey). */
  readonly key: string;
  /** The occurrence count this entry carries. */
  readonly count: number;
  /** When the event last occurred (ms since the epoch), for the lag metric. */
  readonly occurredAt: number;
  readonly entry: PutEventsRequestEntry;
}

/**
 * Where forwarded events go. `send` resolves once the event is accepted
 * (an EventBridge entry with an EventId), rejects with SinkDeliveryError
 * when it is given up on, and with SinkClosedError when `signal` aborts
 * first. `close` sends what is pending and waits for it.
 *
 * @example
 * ```ts
 * const sink: Sink = new InMemorySink();
 * await sink.send(ev, AbortSignal.timeout(30_000));
 * await sink.close();
 * ```
 */
export interface Sink {
  send(ev: ForwardedEvent, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
