import type { KubeConfig } from '@kubernetes/client-node';
import { KubeCallError, ResourceExpiredError, statusOf } from './errors.ts';
import { fromEventsV1, type KubeObject, resourceVersionOf } from './event.ts';
import { type ListPage, listPage } from './kube.ts';
import type { Log } from './log.ts';

/** Where a version of the Event API lives, and how to read its objects. */
export interface EventApi {
  readonly name: 'core' | 'events.k8s.io';
  readonly path: string;
  /** The object in the core/v1 shape the pipeline parses. */
  normalize(obj: KubeObject): KubeObject;
}

/** core/v1 Events: what kubelet writes, and what the pipeline parses. */
export const CORE_EVENTS: EventApi = {
  name: 'core',
  path: '/api/v1/events',
  normalize: (obj) => obj,
};

/** events.k8s.io/v1: the same objects, newer field names. */
export const EVENTS_V1: EventApi = {
  name: 'events.k8s.io',
  path: '/apis/events.k8s.io/v1/events',
  normalize: fromEventsV1,
};

/** What a stream reports to its owner. */
export interface StreamHandler {
  /**
   * An event from a list (the first sync, or a relist after 410 Gone) or
   * from the watch. `resourceVersion` is the point to resume from once
   * this event is settled.
   */
  onEvent(
    event: KubeObject,
    resourceVersion: string,
    phase: 'list' | 'watch'
  ): void;
  /** Progress with nothing to send: a bookmark, a delete, a list's end. */
  onProgress(resourceVersion: string): void;
  /** A full list is about to start (no resourceVersion to resume from). */
  onRelist(reason: 'start' | 'expired'): void;
}

/** The part of @kubernetes/client-node's Watch the stream uses. */
export interface WatchClient {
  watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, obj: KubeObject) => void,
    done: (err: unknown) => void
  ): Promise<AbortController>;
}

/** Counters the stream reports to (ForwarderMetrics has them). */
export interface StreamMetrics {
  watchRestarts: { inc(labels?: Record<string, string>): void };
  relists: { inc(labels?: Record<string, string>): void };
}

export interface EventStreamOptions {
  kc: KubeConfig;
  watch: WatchClient;
  api: EventApi;
  /** A server-side field selector, e.g. `type=Warning`. */
  selector: string;
  handler: StreamHandler;
  metrics: StreamMetrics;
  log: Log;
  /** Resume the watch here (from a checkpoint); list first when absent. */
  resourceVersion?: string;
  pageSize?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Server-side watch timeout; each watch picks a value in [min, 1.25×). */
  watchTimeoutSeconds?: number;
  list?: (
    path: string,
    query: Record<string, string | number | undefined>,
    signal: AbortSignal
  ) => Promise<ListPage>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * One list-then-watch loop over Events matching one field selector, the
 * way client-go's reflector does it, with what kubernetes-event-exporter
 * lacks: it resumes from a checkpointed resourceVersion instead of
 * relisting everything after a restart, relists only when the API server
 * answers 410 Gone, asks for bookmarks so a quiet watch still advances the
 * resume point, and restarts after any other error with exponential backoff
 * and jitter, counting each restart.
 *
 * @example
 * ```ts
 * const stream = new EventStream({ kc, watch: new Watch(kc), api: CORE_EVENTS,
 *   selector: 'type=Warning', handler, metrics, log });
 * await stream.run(abort.signal); // returns once the signal aborts
 * ```
 */
export class EventStream {
  readonly selector: string;
  readonly #o: EventStreamOptions;
  #rv: string;

  constructor(options: EventStreamOptions) {
    this.#o = options;
    this.selector = options.selector;
    this.#rv = options.resourceVersion ?? '';
  }

  /** The last resourceVersion seen (not necessarily settled). */
  get resourceVersion(): string {
    return this.#rv;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { log, metrics } = this.#o;
    let failures = 0;
    let reason: 'start' | 'expired' = 'start';
    while (!signal.aborted) {
      try {
        if (!this.#rv) {
          await this.#list(reason, signal);
        }
        await this.#watchOnce(signal);
        failures = 0;
        if (!signal.aborted) metrics.watchRestarts.inc({ reason: 'closed' });
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof ResourceExpiredError || statusOf(err) === 410) {
          log.info('resourceVersion expired, relisting', {
            selector: this.selector,
            resourceVersion: this.#rv,
          });
          metrics.watchRestarts.inc({ reason: 'expired' });
          this.#rv = '';
          reason = 'expired';
          continue;
        }
        failures += 1;
        metrics.watchRestarts.inc({ reason: 'error' });
        const base = this.#o.backoffBaseMs ?? 500;
        const cap = this.#o.backoffCapMs ?? 30_000;
        const delay = Math.random() * Math.min(cap, base * 2 ** failures);
        log.warn('event watch failed, restarting', {
          selector: this.selector,
          failures,
          delayMs: Math.round(delay),
          error: err,
        });
        await sleep(delay, signal);
      }
    }
  }

  async #list(reason: 'start' | 'expired', signal: AbortSignal) {
    const { api, handler, metrics } = this.#o;
    const list = this.#o.list ?? ((p, q, s) => listPage(this.#o.kc, p, q, s));
    handler.onRelist(reason);
    metrics.relists.inc({ reason });
    let cont: string | undefined;
    let listRv = '';
    do {
      let page: ListPage;
      try {
        page = await list(
          api.path,
          {
            fieldSelector: this.selector,
            limit: this.#o.pageSize ?? 500,
            continue: cont,
          },
          signal
        );
      } catch (err) {
        // An expired continue token is a 410 too: the whole list restarts.
        if (err instanceof KubeCallError && err.status === 410) {
          throw new ResourceExpiredError(this.#rv || '(list)', { cause: err });
        }
        throw err;
      }
      if (!listRv) listRv = page.resourceVersion;
      for (const item of page.items) {
        handler.onEvent(api.normalize(item), listRv, 'list');
      }
      cont = page.continue;
    } while (cont && !signal.aborted);
    handler.onProgress(listRv);
    this.#rv = listRv;
  }

  #watchOnce(signal: AbortSignal): Promise<void> {
    const { api, handler, watch } = this.#o;
    const min = this.#o.watchTimeoutSeconds ?? 240;
    return new Promise<void>((resolve, reject) => {
      let failure: Error | undefined;
      let controller: AbortController | undefined;
      const onAbort = () => controller?.abort();
      const onObject = (phase: string, obj: KubeObject) => {
        if (failure) return;
        const rv = resourceVersionOf(obj);
        switch (phase) {
          case 'ADDED':
          case 'MODIFIED':
            this.#rv = rv || this.#rv;
            handler.onEvent(api.normalize(obj), this.#rv, 'watch');
            break;
          case 'DELETED':
          case 'BOOKMARK':
            this.#rv = rv || this.#rv;
            handler.onProgress(this.#rv);
            break;
          case 'ERROR':
            failure =
              obj.code === 410
                ? new ResourceExpiredError(this.#rv)
                : new KubeCallError(
                    `watch ${api.path}`,
                    typeof obj.code === 'number' ? obj.code : undefined,
                    { cause: new Error(String(obj.message ?? 'watch error')) }
                  );
            controller?.abort();
            break;
        }
      };
      const onDone = (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (failure) return reject(failure);
        if (signal.aborted) return resolve();
        if (err && !(err instanceof Error && err.name === 'AbortError')) {
          return reject(err);
        }
        resolve();
      };
      watch
        .watch(
          api.path,
          {
            fieldSelector: this.selector,
            allowWatchBookmarks: true,
            resourceVersion: this.#rv,
            timeoutSeconds: Math.floor(min * (1 + Math.random() / 4)),
          },
          onObject,
          onDone
        )
        .then((c) => {
          controller = c;
          // An ERROR may come before the controller does.
          if (signal.aborted || failure) c.abort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }, reject);
    });
  }
}
