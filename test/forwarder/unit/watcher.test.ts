import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KubeCallError } from '../../../forwarder/errors.ts';
import type { KubeObject } from '../../../forwarder/event.ts';
import type { ListPage } from '../../../forwarder/kube.ts';
import { silentLog } from '../../../forwarder/log.ts';
import { ForwarderMetrics } from '../../../forwarder/metrics.ts';
import {
  CORE_EVENTS,
  EventStream,
  type StreamHandler,
  type WatchClient,
} from '../../../forwarder/watcher.ts';

type Step =
  | { type: string; object: KubeObject }
  | { close: true }
  | { fail: unknown };

/** A watch that plays one script per call, then waits to be aborted. */
class ScriptedWatch implements WatchClient {
  readonly queries: Record<string, unknown>[] = [];
  readonly scripts: Step[][];
  constructor(scripts: Step[][]) {
    this.scripts = scripts;
  }
  async watch(
    _path: string,
    query: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, obj: KubeObject) => void,
    done: (err: unknown) => void
  ): Promise<AbortController> {
    this.queries.push(query);
    const controller = new AbortController();
    const script = this.scripts.shift() ?? [];
    controller.signal.addEventListener('abort', () => done(null));
    queueMicrotask(() => {
      for (const step of script) {
        if (controller.signal.aborted) return;
        if ('close' in step) return done(null);
        if ('fail' in step) return done(step.fail);
        callback(step.type, step.object);
      }
    });
    return controller;
  }
}

const ev = (uid: string, rv: string) => ({
  metadata: { uid, resourceVersion: rv },
  count: 1,
});

const recorder = () => {
  const seen: string[] = [];
  const handler: StreamHandler = {
    onEvent: (e, rv, phase) =>
      seen.push(`${phase}:${(e.metadata as { uid: string }).uid}@${rv}`),
    onProgress: (rv) => seen.push(`progress@${rv}`),
    onRelist: (reason) => seen.push(`relist:${reason}`),
  };
  return { seen, handler };
};

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('Class: EventStream', () => {
  describe('Method: run', () => {
    it('resumes from the checkpoint, and relists only after 410 Gone', async () => {
      // Prepare
      const watch = new ScriptedWatch([
        [
          { type: 'ADDED', object: ev('a', '101') },
          { type: 'ERROR', object: { code: 410, message: 'too old' } },
        ],
        [
          {
            type: 'BOOKMARK',
            object: { metadata: { resourceVersion: '300' } },
          },
        ],
      ]);
      const lists: Record<string, unknown>[] = [];
      const list = async (_p: string, q: Record<string, unknown>) => {
        lists.push(q);
        return {
          items: [ev('b', '150')],
          resourceVersion: '200',
          continue: undefined,
        } satisfies ListPage;
      };
      const { seen, handler } = recorder();
      const metrics = new ForwarderMetrics();
      const stream = new EventStream({
        kc: new KubeConfig(),
        watch,
        api: CORE_EVENTS,
        selector: 'type=Warning',
        handler,
        metrics,
        log: silentLog,
        resourceVersion: '100',
        list,
      });
      const abort = new AbortController();

      // Act
      const running = stream.run(abort.signal);
      await until(() => seen.includes('progress@300'));
      abort.abort();
      await running;

      // Assess
      expect(seen).toEqual([
        'watch:a@101',
        'relist:expired',
        'list:b@200',
        'progress@200',
        'progress@300',
      ]);
      expect(watch.queries.map((q) => q.resourceVersion)).toEqual([
        '100',
        '200',
      ]);
      expect(watch.queries[0]?.allowWatchBookmarks).toBe(true);
      expect(lists[0]?.fieldSelector).toBe('type=Warning');
      expect(metrics.watchRestarts.get({ reason: 'expired' })).toBe(1);
      expect(metrics.relists.get({ reason: 'expired' })).toBe(1);
    });

    it('restarts after an error with backoff, from where it was, and counts it', async () => {
      // Prepare
      const watch = new ScriptedWatch([
        [
          { type: 'ADDED', object: ev('a', '101') },
          { fail: new Error('reset') },
        ],
        [{ type: 'ADDED', object: ev('b', '102') }],
      ]);
      const { seen, handler } = recorder();
      const metrics = new ForwarderMetrics();
      const stream = new EventStream({
        kc: new KubeConfig(),
        watch,
        api: CORE_EVENTS,
        selector: 'type=Warning',
        handler,
        metrics,
        log: silentLog,
        resourceVersion: '100',
        backoffBaseMs: 1,
        list: async () => {
          throw new KubeCallError('list', 500);
        },
      });
      const abort = new AbortController();

      // Act
      const running = stream.run(abort.signal);
      await until(() => seen.includes('watch:b@102'));
      abort.abort();
      await running;

      // Assess
      expect(watch.queries.map((q) => q.resourceVersion)).toEqual([
        '100',
        '101',
      ]);
      expect(metrics.watchRestarts.get({ reason: 'error' })).toBe(1);
      expect(seen).not.toContain('relist:start');
    });
  });
});
