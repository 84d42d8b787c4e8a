import type { Emitted } from '../../core/ports.ts';
import { SOURCES } from '../../events/detail-types.ts';
import { SinkDeliveryError } from '../errors.ts';
import type { Sink } from '../sinks/sink.ts';

/** What became of one entry. */
export type Published = { ok: true } | { ok: false; code: string };

/**
 * Puts what the agent decided or found on the pullmedic bus, always as
 * source `pullmedic.agent` (the only source its IAM role may use),
 * through the forwarder's batching, retrying sink.
 *
 * @example
 * ```ts
 * const bus = new AgentBus(new EventBridgeSink(client), 'pullmedic-prod');
 * const results = await bus.publish(emitted, signal);
 * ```
 */
export class AgentBus {
  readonly #sink: Sink;
  readonly #busName: string;

  constructor(sink: Sink, busName: string) {
    this.#sink = sink;
    this.#busName = busName;
  }

  /** Resolves when every entry is accepted or given up on, one result each. */
  async publish(
    emitted: readonly Emitted[],
    signal: AbortSignal
  ): Promise<Published[]> {
    const now = Date.now();
    return Promise.all(
      emitted.map(async (e, i): Promise<Published> => {
        try {
          await this.#sink.send(
            {
              key: `${e.detailType}#${i}`,
              count: 1,
              occurredAt: now,
              entry: {
                EventBusName: this.#busName,
                Source: SOURCES.agent,
                DetailType: e.detailType,
                Detail: JSON.stringify(e.detail),
              },
            },
            signal
          );
          return { ok: true };
        } catch (err) {
          return {
            ok: false,
            code:
              err instanceof SinkDeliveryError
                ? err.code
                : err instanceof Error
                  ? err.name
                  : 'Error',
          };
        }
      })
    );
  }

  close(): Promise<void> {
    return this.#sink.close();
  }
}
