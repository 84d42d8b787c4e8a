import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import {
  type CheckpointStore,
  ConfigMapCheckpointStore,
  MemoryCheckpointStore,
} from './checkpoint.ts';
import type { ForwarderConfig } from './config.ts';
import { KubeCallError } from './errors.ts';
import { Forwarder } from './forwarder.ts';
import { listPage } from './kube.ts';
import { LeaderElector } from './leader.ts';
import { jsonLog, type Log } from './log.ts';
import { ForwarderMetrics } from './metrics.ts';
import { NodeCache } from './nodes.ts';
import { EventBridgeSink, type PutEventsClient } from './sinks/eventbridge.ts';
import type { Sink } from './sinks/sink.ts';
import {
  CORE_EVENTS,
  EVENTS_V1,
  type EventApi,
  EventStream,
  type WatchClient,
} from './watcher.ts';

/** Replaceable parts, for tests and the benchmark. */
export interface ForwarderDeps {
  log?: Log;
  kc?: KubeConfig;
  sink?: Sink;
  eventBridge?: PutEventsClient;
  store?: CheckpointStore;
  metrics?: ForwarderMetrics;
}

export type ForwarderState =
  | 'starting'
  | 'standby'
  | 'forwarding'
  | 'draining'
  | 'stopped';

/** A running forwarder process (in this process). */
export interface RunningForwarder {
  readonly metrics: ForwarderMetrics;
  /** The health and metrics port (useful when configured as 0). */
  readonly port: number;
  readonly state: ForwarderState;
  /** Resolves once streams run and have finished their first sync. */
  readonly synced: Promise<void>;
  /** Drain, checkpoint, release the lease, close the server. */
  stop(): Promise<{ complete: boolean }>;
  /** Resolves with the exit code once stopped (1 if the lease was lost). */
  readonly exited: Promise<number>;
}

// client-node's Watch aborts a stream quiet for 30 s. Bookmarks come about
// once a minute and the server ends each watch after timeoutSeconds anyway,
// so allow a little more than the longest watch.
const WATCH_TIMEOUT_SECONDS = 240;
const WATCH_INACTIVITY_MS = 330_000;

/**
 * Starts the forwarder: health, readiness and metrics on HTTP; leader
 * election on a Lease; then, while leading, the checkpoint, the Node
 * informer, one list-and-watch stream per field selector, the bounded
 * queue and the EventBridge sink, with a periodic checkpoint. `stop()` is
 * the SIGTERM path: stop the streams and the informer, drain in-flight
 * batches, close the sink, write the checkpoint, release the Lease.
 *
 * @example
 * ```ts
 * const running = await startForwarder(loadConfig(argv, process.env));
 * process.once('SIGTERM', () => running.stop());
 * process.exitCode = await running.exited;
 * ```
 */
export async function startForwarder(
  config: ForwarderConfig,
  deps: ForwarderDeps = {}
): Promise<RunningForwarder> {
  const log = deps.log ?? jsonLog(config.logLevel);
  const metrics = deps.metrics ?? new ForwarderMetrics();
  const kc = deps.kc ?? new KubeConfig();
  if (!deps.kc) {
    if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
    else kc.loadFromDefault();
  }
  const store: CheckpointStore =
    deps.store ??
    (config.checkpoint
      ? new ConfigMapCheckpointStore(
          kc,
          config.namespace,
          config.checkpointName
        )
      : new MemoryCheckpointStore());

  let state: ForwarderState = 'starting';
  let forwarder: Forwarder | undefined;
  let nodes: NodeCache | undefined;
  let checkpointTimer: NodeJS.Timeout | undefined;
  let lastSaved = '';
  const streams = new AbortController();
  const streamRuns: Promise<void>[] = [];
  let resolveSynced!: () => void;
  const synced = new Promise<void>((r) => {
    resolveSynced = r;
  });
  let resolveExited!: (code: number) => void;
  const exited = new Promise<number>((r) => {
    resolveExited = r;
  });

  const server = serve(
    metrics,
    () => state,
    () => forwarder?.synced ?? false
  );
  server.listen(config.port, config.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  const elector = config.leaderElection
    ? new LeaderElector(kc, {
        namespace: config.namespace,
        name: config.leaseName,
        identity: config.identity,
        log,
      })
    : undefined;

  const saveCheckpoint = async () => {
    if (!forwarder) return;
    const checkpoint = forwarder.checkpoint();
    const { savedAt: _, ...content } = checkpoint;
    const fingerprint = JSON.stringify(content);
    if (fingerprint === lastSaved) return;
    try {
      await store.save(checkpoint);
      lastSaved = fingerprint;
      metrics.checkpoints.inc({ outcome: 'ok' });
    } catch (err) {
      metrics.checkpoints.inc({ outcome: 'error' });
      log.warn('checkpoint not saved', { error: err });
    }
  };

  let stopping: Promise<{ complete: boolean }> | undefined;
  const stop = (code = 0) => {
    stopping ??= (async () => {
      state = 'draining';
      log.info('stopping: draining in-flight batches');
      streams.abort();
      if (checkpointTimer) clearInterval(checkpointTimer);
      await nodes?.stop().catch(() => undefined);
      await Promise.allSettled(streamRuns);
      const result = forwarder
        ? await forwarder.drain(config.drainTimeoutMs)
        : { complete: true };
      await saveCheckpoint();
      await elector?.release();
      metrics.leader.set(0);
      server.close();
      server.closeAllConnections();
      state = 'stopped';
      log.info('stopped', {
        complete: result.complete,
        forwarded: metrics.forwarded.total(),
        failed: metrics.failed.total(),
        shed: metrics.shed.total(),
      });
      resolveExited(code);
      return result;
    })();
    return stopping;
  };

  const run = async () => {
    if (elector) {
      state = 'standby';
      const leading = await elector.acquire(streams.signal);
      if (!leading) return;
      elector.keepRenewing(() => void stop(1));
    }
    metrics.leader.set(1);
    const checkpoint = await store.load().catch((err: unknown) => {
      log.warn('checkpoint not loaded: starting without it', { error: err });
      return undefined;
    });
    const api = await chooseApi(kc, config.eventsApi);
    log.info('forwarding', {
      api: api.name,
      selectors: config.selectors,
      checkpoint: checkpoint
        ? { savedAt: checkpoint.savedAt, sent: checkpoint.sent.length }
        : null,
    });
    nodes = new NodeCache(kc, log, (reason) =>
      metrics.watchRestarts.inc({ reason })
    );
    await nodes.start();
    const sink =
      deps.sink ??
      new EventBridgeSink(
        deps.eventBridge ??
          new EventBridgeClient({
            region: config.region,
            ...(config.endpointUrl ? { endpoint: config.endpointUrl } : {}),
            // The sink retries itself, per entry, with jitter: SDK retries
            // on top would multiply the attempts.
            maxAttempts: 1,
          }),
        {
          batchSize: config.batchSize,
          flushMs: config.flushMs,
          maxAttempts: config.maxAttempts,
          concurrency: config.putConcurrency,
          metrics,
          log,
        }
      );
    forwarder = new Forwarder({
      cluster: config.cluster,
      busName: config.bus,
      sink,
      metrics,
      log,
      nodes: nodes.nodes,
      api: api.name,
      maxAgeSeconds: config.maxAgeSeconds,
      queueCapacity: config.queueCapacity,
      queueMaxBytes: config.queueMaxBytes,
      maxInFlight: config.maxInFlight,
      checkpointKeys: config.checkpointKeys,
      checkpoint,
    });
    const watch = new Watch(kc);
    Object.assign(watch, { requestTimeoutMs: WATCH_INACTIVITY_MS });
    for (const selector of config.selectors) {
      const stream = new EventStream({
        kc,
        watch: watch as unknown as WatchClient,
        api,
        selector,
        handler: forwarder.handlerFor(selector),
        metrics,
        log,
        resourceVersion: forwarder.resumeFrom(selector),
        watchTimeoutSeconds: WATCH_TIMEOUT_SECONDS,
      });
      streamRuns.push(stream.run(streams.signal));
    }
    state = 'forwarding';
    checkpointTimer = setInterval(
      () => void saveCheckpoint(),
      config.checkpointIntervalMs
    );
    const poll = setInterval(() => {
      if (forwarder?.synced || streams.signal.aborted) {
        clearInterval(poll);
        resolveSynced();
      }
    }, 50);
  };
  run().catch((err: unknown) => {
    log.error('forwarder failed', { error: err });
    void stop(1);
  });

  return {
    metrics,
    port,
    get state() {
      return state;
    },
    synced,
    stop: () => stop(0),
    exited,
  };
}

/**
 * core/v1 unless the cluster no longer serves it (then events.k8s.io/v1);
 * both see the same objects, and the pipeline parses the core/v1 shape.
 */
async function chooseApi(
  kc: KubeConfig,
  wanted: ForwarderConfig['eventsApi']
): Promise<EventApi> {
  if (wanted === 'core') return CORE_EVENTS;
  if (wanted === 'events.k8s.io') return EVENTS_V1;
  try {
    await listPage(kc, CORE_EVENTS.path, { limit: 1 });
    return CORE_EVENTS;
  } catch (err) {
    if (err instanceof KubeCallError && err.status === 404) return EVENTS_V1;
    throw err;
  }
}

function serve(
  metrics: ForwarderMetrics,
  state: () => ForwarderState,
  synced: () => boolean
): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metrics.render());
      return;
    }
    if (path === '/healthz') {
      const alive = state() !== 'stopped';
      res.writeHead(alive ? 200 : 503).end(alive ? 'ok\n' : 'stopped\n');
      return;
    }
    if (path === '/readyz') {
      const s = state();
      // A standby is ready: it is doing its job, which is to wait.
      const ready = s === 'standby' || (s === 'forwarding' && synced());
      res.writeHead(ready ? 200 : 503).end(`${s}\n`);
      return;
    }
    res.writeHead(404).end('not found\n');
  });
}
