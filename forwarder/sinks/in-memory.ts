import { SinkClosedError, SinkDeliveryError } from '../errors.ts';
import type { ForwardedEvent, Sink } from './sink.ts';

/**
 * A sink that keeps what it is sent, for tests and the benchmark (the
 * exporter's `inmemory.go`). `failNext(n, code)` makes the next n sends
 * fail; `delayMs` makes each send take that long.
 *
 * @example
 * ```ts
 * const sink = new InMemorySink();
 * await sink.send(ev, new AbortController().signal);
 * sink.events.length; // 1
 * ```
 */
export class InMemorySink implements Sink {
  readonly events: ForwardedEvent[] = [];
  sends = 0;
  delayMs: number;
  #failures: { left: number; code: string } = { left: 0, code: '' };
  #closed = false;

  constructor(options: { delayMs?: number } = {}) {
    this.delayMs = options.delayMs ?? 0;
  }

  failNext(count: number, code = 'InternalFailure'): void {
    this.#failures = { left: count, code };
  }

  async send(ev: ForwardedEvent, signal: AbortSignal): Promise<void> {
    this.sends += 1;
    if (this.#closed) throw new SinkClosedError();
    if (this.delayMs > 0) {
      await new Promise((r) => setTimeout(r, this.delayMs));
    }
    if (signal.aborted) throw new SinkClosedError('send aborted');
    if (this.#failures.left > 0) {
      this.#failures.left -= 1;
      throw new SinkDeliveryError(
        `injected failure for ${ev.key}`,
        this.#failures.code,
        1
      );
    }
    this.events.push(ev);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Forget what was sent (the sink stays open). */
  reset(): void {
    this.events.length = 0;
    this.sends = 0;
    this.#failures = { left: 0, code: '' };
  }
}
