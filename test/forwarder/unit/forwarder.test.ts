import { describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../../forwarder/checkpoint.ts';
import { Forwarder } from '../../../forwarder/forwarder.ts';
import { silentLog } from '../../../forwarder/log.ts';
import { ForwarderMetrics } from '../../../forwarder/metrics.ts';
import { InMemorySink } from '../../../forwarder/sinks/in-memory.ts';

const NOW = Date.parse('2026-11-28T10:00:00Z');

const kubeletEvent = (
  uid: string,
  count = 1,
  at = new Date(NOW).toISOString(),
  reason = 'Failed'
) => ({
  metadata: { uid, name: `web.${uid}`, namespace: 'default' },
  involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' },
  reason,
  type: 'Warning',
  message: 'Failed to pull image: no space left on device',
  source: { component: 'kubelet', host: 'node-1' },
  count,
  lastTimestamp: at,
});

/** Polls until `cond` holds (at most 2 s). */
const until = async (cond: () => boolean) => {
  for (let i = 0; i < 400 && !cond(); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  if (!cond()) throw new Error('condition not met within 2 s');
};

const setup = (
  options: {
    checkpoint?: Checkpoint;
    queueCapacity?: number;
    sink?: InMemorySink;
  } = {}
) => {
  const sink = options.sink ?? new InMemorySink();
  const metrics = new ForwarderMetrics();
  const forwarder = new Forwarder({
    cluster: 'prod',
    busName: 'pullmedic',
    sink,
    metrics,
    log: silentLog,
    nodes: new Map([
      ['node-1', { providerID: 'aws:///us-east-1a/i-0abc12345678def90' }],
    ]),
    api: 'core',
    maxAgeSeconds: 600,
    queueCapacity: options.queueCapacity ?? 100,
    maxInFlight: 10,
    retryPauseMs: 5,
    checkpointKeys: 100,
    checkpoint: options.checkpoint,
    now: () => NOW,
  });
  return { forwarder, sink, metrics };
};

const sentCounts = (sink: InMemorySink, key: string) =>
  sink.events.filter((e) => e.key === key).map((e) => e.count);

describe('Class: Forwarder', () => {
  describe('Method: handlerFor', () => {
    it('forwards a new event and each update that raises its count, once each', async () => {
      // Prepare
      const { forwarder, sink, metrics } = setup();
      const handler = forwarder.handlerFor('type=Warning');
      const tick = () => new Promise((r) => setTimeout(r, 0));

      // Act
      handler.onEvent(kubeletEvent('a', 1), '10', 'watch');
      await tick();
      handler.onEvent(kubeletEvent('a', 1), '11', 'watch'); // metadata only
      handler.onEvent(kubeletEvent('a', 2), '12', 'watch');
      await tick();
      handler.onEvent(kubeletEvent('a', 3), '13', 'watch');
      await forwarder.drain(1000);

      // Assess
      expect(sentCounts(sink, 'a')).toEqual([1, 2, 3]);
      expect(metrics.received.get({ outcome: 'duplicate' })).toBe(1);
      const [first] = sink.events;
      expect(first?.entry.Resources).toEqual(['i-0abc12345678def90']);
      expect(forwarder.checkpoint().sent).toEqual([['a', 3]]);
    });

    it('sends only the newest count of an event still waiting in the queue', async () => {
      // Prepare
      const sink = new InMemorySink({ delayMs: 20 });
      const { forwarder, metrics } = setup({ sink });
      const handler = forwarder.handlerFor('type=Warning');
      for (let i = 0; i < 10; i++) {
        handler.onEvent(kubeletEvent(`busy-${i}`), String(i), 'watch');
      }

      // Act: 'a' waits behind ten in flight while kubelet bumps it.
      handler.onEvent(kubeletEvent('a', 1), '20', 'watch');
      handler.onEvent(kubeletEvent('a', 2), '21', 'watch');
      handler.onEvent(kubeletEvent('a', 3), '22', 'watch');
      await forwarder.drain(1000);

      // Assess
      expect(sentCounts(sink, 'a')).toEqual([3]);
      expect(metrics.coalesced.total()).toBe(2);
      expect(forwarder.checkpoint().streams['type=Warning']).toBe('22');
    });

    it('drops events older than maxAge on the first list, not on the watch', async () => {
      // Prepare
      const { forwarder, sink, metrics } = setup();
      const handler = forwarder.handlerFor('type=Warning');
      const old = new Date(NOW - 3600_000).toISOString();

      // Act
      handler.onRelist('start');
      handler.onEvent(kubeletEvent('old', 1, old), '5', 'list');
      handler.onEvent(kubeletEvent('new', 1), '5', 'list');
      handler.onProgress('5');
      handler.onEvent(kubeletEvent('old-but-watched', 1, old), '6', 'watch');
      await forwarder.drain(1000);

      // Assess
      expect(sink.events.map((e) => e.key).sort()).toEqual([
        'new',
        'old-but-watched',
      ]);
      expect(metrics.received.get({ outcome: 'too_old' })).toBe(1);
    });

    it('resumes from a checkpoint: no re-send, and what happened while down is forwarded', async () => {
      // Prepare
      const first = setup();
      const h1 = first.forwarder.handlerFor('type=Warning');
      h1.onEvent(kubeletEvent('a', 1), '10', 'watch');
      h1.onEvent(kubeletEvent('b', 1), '11', 'watch');
      await first.forwarder.drain(1000);
      const checkpoint = {
        ...first.forwarder.checkpoint(),
        savedAt: new Date(NOW - 3 * 3600_000).toISOString(),
      };
      const second = setup({ checkpoint });
      const h2 = second.forwarder.handlerFor('type=Warning');
      const whileDown = new Date(NOW - 2 * 3600_000).toISOString();

      // Act: a 410 made the stream relist.
      h2.onRelist('expired');
      h2.onEvent(kubeletEvent('a', 1), '20', 'list');
      h2.onEvent(kubeletEvent('b', 2, whileDown), '20', 'list');
      h2.onEvent(kubeletEvent('c', 1, whileDown), '20', 'list');
      h2.onProgress('20');
      await second.forwarder.drain(1000);

      // Assess
      expect(checkpoint.streams).toEqual({ 'type=Warning': '11' });
      expect(second.forwarder.resumeFrom('type=Warning')).toBe('11');
      expect(
        second.sink.events.map((e) => `${e.key}#${e.count}`).sort()
      ).toEqual(['b#2', 'c#1']);
      expect(second.forwarder.checkpoint().streams['type=Warning']).toBe('20');
    });

    it('sheds the least useful events when the queue is full, and counts them', async () => {
      // Prepare
      const sink = new InMemorySink({ delayMs: 20 });
      const { forwarder, metrics } = setup({ queueCapacity: 5, sink });
      const handler = forwarder.handlerFor('type=Warning');

      // Act: 10 in flight, 5 queued, then 5 more that matter more.
      for (let i = 0; i < 15; i++) {
        handler.onEvent(
          kubeletEvent(`pulled-${i}`, 1, undefined, 'Pulled'),
          String(i),
          'watch'
        );
      }
      for (let i = 0; i < 5; i++) {
        handler.onEvent(kubeletEvent(`failed-${i}`), String(20 + i), 'watch');
      }
      await forwarder.drain(5000);

      // Assess
      expect(metrics.shed.get({ priority: 'warning' })).toBe(5);
      expect(metrics.shed.total()).toBe(5);
      expect(
        sink.events.filter((e) => e.key.startsWith('failed'))
      ).toHaveLength(5);
      expect(forwarder.checkpoint().streams['type=Warning']).toBe('24');
    });

    it('holds an entry EventBridge refused for now, and the resume point before it, until it goes out', async () => {
      // Prepare: EventBridge refuses the first two tries (throttled).
      const sink = new InMemorySink();
      sink.failNext(2, 'ThrottlingException');
      const { forwarder, metrics } = setup({ sink });
      const handler = forwarder.handlerFor('type=Warning');

      // Act
      handler.onEvent(kubeletEvent('a'), '1', 'watch');
      const whileHeld = forwarder.checkpoint().streams['type=Warning'];
      await until(() => metrics.forwarded.total() === 1);

      // Assess
      expect(whileHeld).not.toBe('1');
      expect(sink.events.map((e) => e.key)).toEqual([
        expect.stringContaining('a'),
      ]);
      expect(metrics.retries.total()).toBe(2);
      expect(metrics.failed.total()).toBe(0);
      expect(forwarder.checkpoint().streams['type=Warning']).toBe('1');
      await forwarder.drain(1000);
    });

    it('gives up at once on what EventBridge will never take, and moves on', async () => {
      // Prepare
      const sink = new InMemorySink();
      sink.failNext(1, 'ValidationException');
      const { forwarder, metrics } = setup({ sink });
      const handler = forwarder.handlerFor('type=Warning');

      // Act
      handler.onEvent(kubeletEvent('a'), '1', 'watch');
      handler.onEvent(kubeletEvent('b'), '2', 'watch');
      await until(
        () => metrics.forwarded.total() + metrics.failed.total() === 2
      );

      // Assess
      expect(metrics.failed.get({ code: 'ValidationException' })).toBe(1);
      expect(metrics.forwarded.total()).toBe(1);
      expect(forwarder.checkpoint().streams['type=Warning']).toBe('2');
      await forwarder.drain(1000);
    });

    it('counts what it could not send while draining and still moves on', async () => {
      // Prepare
      const sink = new InMemorySink();
      sink.failNext(1, 'InternalFailure');
      const { forwarder, metrics } = setup({ sink });
      const handler = forwarder.handlerFor('type=Warning');

      // Act
      handler.onEvent(kubeletEvent('a'), '1', 'watch');
      handler.onEvent(kubeletEvent('b'), '2', 'watch');
      await forwarder.drain(1000);

      // Assess
      expect(metrics.failed.get({ code: 'InternalFailure' })).toBe(1);
      expect(metrics.forwarded.total()).toBe(1);
      expect(forwarder.checkpoint().streams['type=Warning']).toBe('2');
    });
  });

  describe('Method: drain', () => {
    it('gives up after the timeout and counts what was left', async () => {
      // Prepare
      const sink = new InMemorySink({ delayMs: 200 });
      const { forwarder, metrics } = setup({ sink });
      const handler = forwarder.handlerFor('type=Warning');
      for (let i = 0; i < 15; i++) {
        handler.onEvent(kubeletEvent(`e-${i}`), String(i), 'watch');
      }

      // Act
      const result = await forwarder.drain(20);
      await new Promise((r) => setTimeout(r, 250));

      // Assess
      expect(result.complete).toBe(false);
      expect(metrics.failed.get({ code: 'drain_timeout' })).toBe(5);
      expect(metrics.failed.get({ code: 'closed' })).toBe(10);
    });
  });
});
