import type {
  PutEventsCommand,
  PutEventsCommandOutput,
  PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import type { SinkDeliveryError } from '../../../forwarder/errors.ts';
import { ForwarderMetrics } from '../../../forwarder/metrics.ts';
import {
  EventBridgeSink,
  entrySize,
  PUT_EVENTS_MAX_BYTES,
} from '../../../forwarder/sinks/eventbridge.ts';
import type { ForwardedEvent } from '../../../forwarder/sinks/sink.ts';

/**
 * A PutEvents client that records each call and answers per entry with
 * `answer(entry, attempt)`: an ErrorCode, or undefined to accept it.
 */
class FakeEventBridge {
  readonly calls: PutEventsRequestEntry[][] = [];
  readonly #tries = new Map<string, number>();
  readonly answer: (
    entry: PutEventsRequestEntry,
    attempt: number
  ) => string | undefined;
  constructor(answer: FakeEventBridge['answer'] = () => undefined) {
    this.answer = answer;
  }
  async send(command: PutEventsCommand): Promise<PutEventsCommandOutput> {
    const entries = command.input.Entries ?? [];
    this.calls.push(entries);
    const results = entries.map((e) => {
      const key = e.Detail ?? '';
      const attempt = (this.#tries.get(key) ?? 0) + 1;
      this.#tries.set(key, attempt);
      const code = this.answer(e, attempt);
      return code ? { ErrorCode: code, ErrorMessage: code } : { EventId: key };
    });
    return {
      $metadata: {},
      FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
      Entries: results,
    };
  }
}

const event = (i: number, detailBytes = 20): ForwardedEvent => ({
  key: `uid-${i}`,
  count: 1,
  occurredAt: 0,
  entry: {
    EventBusName: 'pullmedic',
    Source: 'pullmedic.kubernetes',
    DetailType: 'Kubernetes Event',
    Detail: JSON.stringify({ i, pad: 'x'.repeat(detailBytes) }),
  },
});

const signal = () => new AbortController().signal;

describe('Class: EventBridgeSink', () => {
  describe('Method: send', () => {
    it('puts 10 entries a call, and the rest when closed', async () => {
      // Prepare
      const bus = new FakeEventBridge();
      const sink = new EventBridgeSink(bus, { flushMs: 10_000 });

      // Act
      const sends = Array.from({ length: 25 }, (_, i) =>
        sink.send(event(i), signal())
      );
      await sink.close();
      await Promise.all(sends);

      // Assess
      expect(bus.calls.map((c) => c.length)).toEqual([10, 10, 5]);
    });

    it('keeps each call under 256 KB', async () => {
      // Prepare
      const bus = new FakeEventBridge();
      const sink = new EventBridgeSink(bus, { flushMs: 10 });
      const big = 100 * 1024;

      // Act
      await Promise.all(
        Array.from({ length: 5 }, (_, i) => sink.send(event(i, big), signal()))
      );

      // Assess
      for (const call of bus.calls) {
        const bytes = call.reduce((n, e) => n + entrySize(e), 0);
        expect(bytes).toBeLessThanOrEqual(PUT_EVENTS_MAX_BYTES);
      }
      expect(bus.calls.map((c) => c.length)).toEqual([2, 2, 1]);
    });

    it('sends again only the entries that failed', async () => {
      // Prepare
      const bus = new FakeEventBridge((e, attempt) =>
        attempt === 1 && JSON.parse(e.Detail ?? '{}').i % 3 === 0
          ? 'ThrottlingException'
          : undefined
      );
      const metrics = new ForwarderMetrics();
      const sink = new EventBridgeSink(bus, {
        flushMs: 5,
        backoffBaseMs: 1,
        metrics,
      });

      // Act
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => sink.send(event(i), signal()))
      );

      // Assess
      expect(bus.calls).toHaveLength(2);
      expect(bus.calls[1]?.map((e) => JSON.parse(e.Detail ?? '{}').i)).toEqual([
        0, 3, 6, 9,
      ]);
      expect(metrics.retries.total()).toBe(4);
      expect(metrics.putCalls.get({ outcome: 'partial' })).toBe(1);
    });

    it('gives up at once on codes that cannot succeed, and after maxAttempts on the rest', async () => {
      // Prepare
      const bus = new FakeEventBridge((e) =>
        JSON.parse(e.Detail ?? '{}').i === 0
          ? 'MalformedDetail'
          : 'InternalFailure'
      );
      const sink = new EventBridgeSink(bus, {
        flushMs: 1,
        backoffBaseMs: 1,
        maxAttempts: 3,
      });

      // Act
      const results = await Promise.allSettled([
        sink.send(event(0), signal()),
        sink.send(event(1), signal()),
      ]);

      // Assess
      const [malformed, internal] = results.map((r) =>
        r.status === 'rejected' ? (r.reason as SinkDeliveryError) : undefined
      );
      expect(malformed?.code).toBe('MalformedDetail');
      expect(malformed?.attempts).toBe(1);
      expect(internal?.code).toBe('InternalFailure');
      expect(internal?.attempts).toBe(3);
    });

    it('fails an entry over 256 KB alone, without sending it', async () => {
      // Prepare
      const bus = new FakeEventBridge();
      const sink = new EventBridgeSink(bus, { flushMs: 1 });

      // Act
      const results = await Promise.allSettled([
        sink.send(event(0, 300 * 1024), signal()),
        sink.send(event(1), signal()),
      ]);

      // Assess
      expect(results[0]?.status).toBe('rejected');
      expect(results[1]?.status).toBe('fulfilled');
      expect(bus.calls.flat()).toHaveLength(1);
    });

    it('retries a call that failed as a whole', async () => {
      // Prepare
      let calls = 0;
      const bus = {
        async send(command: PutEventsCommand): Promise<PutEventsCommandOutput> {
          calls += 1;
          if (calls === 1) {
            throw Object.assign(new Error('slow down'), {
              name: 'ThrottlingException',
            });
          }
          return {
            $metadata: {},
            Entries: (command.input.Entries ?? []).map(() => ({
              EventId: 'id',
            })),
          };
        },
      };
      const sink = new EventBridgeSink(bus, { flushMs: 1, backoffBaseMs: 1 });

      // Act
      await sink.send(event(0), signal());

      // Assess
      expect(calls).toBe(2);
    });
  });
});
