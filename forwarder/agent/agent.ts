import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { KubeConfig } from '@kubernetes/client-node';
import { SqsDeadLetters } from '../../adapters/aws/sqs-dead-letters.ts';
import { KubeClusterPods } from '../../adapters/k8s/cluster-pods.ts';
import {
  handleRestartRequest,
  type RestartOutcome,
  type RestartPolicy,
} from '../../core/pod-restart.ts';
import type { Clock, ClusterPods, Emitted } from '../../core/ports.ts';
import { SweepMemory, sweep } from '../../core/pull-sweep.ts';
import { DETAIL_TYPES } from '../../events/detail-types.ts';
import { jsonLog, type Log } from '../log.ts';
import { EventBridgeSink, type PutEventsClient } from '../sinks/eventbridge.ts';
import type { Sink } from '../sinks/sink.ts';
import { AgentBus } from './bus.ts';
import type { AgentConfig } from './config.ts';
import { AgentMetrics } from './metrics.ts';
import {
  type QueueMessage,
  type RequestQueue,
  SqsRequestQueue,
} from './queue.ts';
import { parseRestartRequest } from './request.ts';

/** Replaceable parts, for tests and the local runtime. */
export interface AgentDeps {
  log?: Log;
  kc?: KubeConfig;
  pods?: ClusterPods;
  queue?: RequestQueue;
  sink?: Sink;
  eventBridge?: PutEventsClient;
  sqs?: SQSClient;
  clock?: Clock;
  metrics?: AgentMetrics;
}

export type AgentState = 'starting' | 'running' | 'draining' | 'stopped';

/** What one sweep did. */
export interface SweepReport {
  /** Containers waiting in ImagePullBackOff or ErrImagePull. */
  stuck: number;
  /** Entries put on the bus (the rest were reported within the quiet period). */
  reported: number;
  /** Entries EventBridge did not take: due again at the next sweep. */
  failed: number;
}

/** A running agent (in this process). */
export interface RunningAgent {
  readonly metrics: AgentMetrics;
  /** The health and metrics port (useful when configured as 0). */
  readonly port: number;
  readonly state: AgentState;
  /** Sweeps now (after the one under way, if any), and says what it did. */
  sweepNow(): Promise<SweepReport>;
  /** Stops receiving and sweeping, finishes what is in hand, closes the sink. */
  stop(): Promise<void>;
  /** Resolves with the exit code once stopped. */
  readonly exited: Promise<number>;
}

/** Restart results kept for a redelivery, at most this many messages. */
const MAX_PENDING_RESULTS = 1000;

const wallClock: Clock = { now: () => new Date() };

/** Ends quietly when the signal aborts (a stop), instead of throwing. */
const pause = (ms: number, signal: AbortSignal) =>
  sleep(ms, undefined, { signal }).catch(() => undefined);

const outcomeOf = (e: RestartOutcome): string =>
  e.detailType === DETAIL_TYPES.podRestarted ? 'restarted' : e.detail.reason;

/**
 * Starts the cluster agent: health, readiness and metrics on HTTP; a loop
 * that long-polls its SQS queue for `Pod Restart Requested` and carries
 * each out (core/pod-restart.ts), deleting the message only once every
 * resulting event is on the bus; and, every `sweepIntervalSeconds`, a
 * sweep of the pods that puts a `Kubernetes Event` on the bus for each
 * container stuck pulling that it has not reported within the quiet
 * period. `stop()` is the SIGTERM path: stop receiving, finish the
 * messages in hand and the sweep under way (within the drain timeout),
 * close the sink, close the server.
 *
 * A message whose events could not all be put on the bus stays on the
 * queue and comes back after its visibility timeout; the pods were
 * already handled, so only the events that did not go out are sent then
 * (kept here by message id; after a restart of the agent, the pods are
 * looked at again and are gone or no longer stuck).
 *
 * @example
 * ```ts
 * const agent = await startAgent(loadAgentConfig(argv, process.env));
 * process.once('SIGTERM', () => agent.stop());
 * process.exitCode = await agent.exited;
 * ```
 */
export async function startAgent(
  config: AgentConfig,
  deps: AgentDeps = {}
): Promise<RunningAgent> {
  const log =
    deps.log ?? jsonLog(config.logLevel, undefined, 'pullmedic-agent');
  const metrics = deps.metrics ?? new AgentMetrics();
  const clock = deps.clock ?? wallClock;
  const aws = {
    region: config.region,
    ...(config.endpointUrl ? { endpoint: config.endpointUrl } : {}),
  };
  let pods = deps.pods;
  if (pods === undefined) {
    const kc = deps.kc ?? new KubeConfig();
    if (!deps.kc) {
      if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
      else kc.loadFromDefault();
    }
    pods = new KubeClusterPods(kc);
  }
  const cluster = pods;
  const sqs = deps.sqs ?? new SQSClient(aws);
  const queue =
    deps.queue ??
    new SqsRequestQueue(sqs, config.queueUrl, {
      waitSeconds: config.receiveWaitSeconds,
      ...(config.deadLetterQueueUrl
        ? { deadLetters: new SqsDeadLetters(sqs, config.deadLetterQueueUrl) }
        : {}),
    });
  const bus = new AgentBus(
    deps.sink ??
      new EventBridgeSink(
        deps.eventBridge ??
          // The sink retries per entry, with jitter: no SDK retries on top.
          new EventBridgeClient({ ...aws, maxAttempts: 1 }),
        {
          flushMs: 100,
          concurrency: 2,
          metrics: {
            putCalls: metrics.putCalls,
            batchSize: metrics.batchSize,
            retries: metrics.retries,
          },
          log,
        }
      ),
    config.bus
  );
  const policy: RestartPolicy = {
    optedOutNamespaces: config.optedOutNamespaces,
    maxPods: config.maxPodsPerIncident,
    dryRun: config.dryRun,
  };
  const memory = new SweepMemory(config.sweepQuietSeconds * 1000);
  // Events of handled messages not on the bus yet, by SQS message id.
  const pending = new Map<string, RestartOutcome[]>();

  let state: AgentState = 'starting';
  const stopping = new AbortController();
  // Aborted only when the drain deadline passes: until then, what was
  // decided still goes out.
  const publishing = new AbortController();
  let resolveExited!: (code: number) => void;
  const exited = new Promise<number>((r) => {
    resolveExited = r;
  });

  const publish = async (emitted: readonly Emitted[]) => {
    const results = await bus.publish(emitted, publishing.signal);
    results.forEach((r, i) => {
      const type = emitted[i]?.detailType ?? '';
      if (r.ok) metrics.published.inc({ detail_type: type });
      else metrics.publishFailed.inc({ code: r.code });
    });
    return results;
  };

  const handleMessage = async (message: QueueMessage) => {
    let emitted = pending.get(message.id);
    if (emitted === undefined) {
      const parsed = parseRestartRequest(message.body);
      if (!parsed.ok) {
        metrics.requests.inc({ outcome: 'malformed' });
        const kept = await queue.deadLetter(message, parsed.reason);
        log.warn(
          kept
            ? 'malformed request dead-lettered'
            : 'malformed request left for the redrive policy (no DEAD_LETTER_QUEUE_URL)',
          { messageId: message.id, reason: parsed.reason }
        );
        return;
      }
      if (parsed.detail.cluster !== config.cluster) {
        // SQS gave this agent a request for another cluster: its queue is
        // shared. Acting on it could touch a pod of the same name here.
        metrics.requests.inc({ outcome: 'other-cluster' });
        const reason = `the request is for cluster ${parsed.detail.cluster}, and this agent serves ${config.cluster}: each cluster's agent needs its own queue`;
        await queue.deadLetter(message, reason);
        log.error('request for another cluster dead-lettered', {
          messageId: message.id,
          reason,
        });
        return;
      }
      emitted = await handleRestartRequest(parsed.detail, {
        pods: cluster,
        clock,
        policy,
      });
      for (const e of emitted) metrics.restarts.inc({ outcome: outcomeOf(e) });
      log.info('restart request handled', {
        messageId: message.id,
        eventId: parsed.eventId,
        incidentId: parsed.detail.incidentId,
        pods: emitted.map((e) => ({
          pod: e.detail.pod,
          outcome: outcomeOf(e),
        })),
      });
    }
    const results = await publish(emitted);
    const unsent = emitted.filter((_, i) => !results[i]?.ok);
    if (unsent.length === 0) {
      await queue.delete(message);
      pending.delete(message.id);
      metrics.requests.inc({ outcome: 'done' });
      return;
    }
    pending.set(message.id, unsent);
    for (const id of pending.keys()) {
      if (pending.size <= MAX_PENDING_RESULTS) break;
      pending.delete(id);
    }
    metrics.requests.inc({ outcome: 'unpublished' });
    log.warn('events not on the bus: the message stays on the queue', {
      messageId: message.id,
      unsent: unsent.length,
      of: emitted.length,
    });
  };

  const receiveLoop = async () => {
    let backoffMs = 1000;
    while (!stopping.signal.aborted) {
      let messages: QueueMessage[];
      try {
        messages = await queue.receive(stopping.signal);
        backoffMs = 1000;
      } catch (err) {
        if (stopping.signal.aborted) break;
        metrics.receiveErrors.inc();
        log.warn('receiving from the queue failed', { error: err, backoffMs });
        await pause(backoffMs, stopping.signal);
        backoffMs = Math.min(backoffMs * 2, 60_000);
        continue;
      }
      // Messages in hand are finished even when a stop comes meanwhile.
      for (const m of messages) {
        try {
          await handleMessage(m);
        } catch (err) {
          log.error('handling a request failed: it comes back', {
            messageId: m.id,
            error: err,
          });
        }
      }
    }
  };

  let sweeping: Promise<SweepReport> = Promise.resolve({
    stuck: 0,
    reported: 0,
    failed: 0,
  });
  const runSweep = async (): Promise<SweepReport> => {
    const result = await sweep({
      cluster: config.cluster,
      pods: cluster,
      clock,
      memory,
      signal: stopping.signal,
    });
    metrics.stuck.set(result.stuck);
    const results = await publish(result.due.map((d) => d.emitted));
    const now = clock.now();
    let reported = 0;
    result.due.forEach((d, i) => {
      if (!results[i]?.ok) return;
      memory.remember(d.key, now);
      reported += 1;
    });
    metrics.reported.inc({}, reported);
    if (result.due.length > 0) {
      log.info('sweep reported stuck pulls', {
        stuck: result.stuck,
        reported,
        failed: result.due.length - reported,
      });
    }
    return {
      stuck: result.stuck,
      reported,
      failed: result.due.length - reported,
    };
  };
  const sweepNow = () => {
    sweeping = sweeping
      .catch(() => undefined)
      .then(runSweep)
      .then(
        (report) => {
          metrics.sweeps.inc({ outcome: 'ok' });
          return report;
        },
        (err: unknown) => {
          metrics.sweeps.inc({ outcome: 'error' });
          throw err;
        }
      );
    return sweeping;
  };
  const sweepLoop = async () => {
    while (!stopping.signal.aborted) {
      await sweepNow().catch((err: unknown) => {
        log.warn('sweep failed: trying again at the next one', { error: err });
      });
      await pause(config.sweepIntervalSeconds * 1000, stopping.signal);
    }
  };

  const server = serve(metrics, () => state);
  server.listen(config.port, config.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  const loops = [receiveLoop()];
  if (config.sweepIntervalSeconds > 0) loops.push(sweepLoop());
  state = 'running';
  log.info('agent running', {
    cluster: config.cluster,
    sweepIntervalSeconds: config.sweepIntervalSeconds,
    dryRun: config.dryRun,
  });

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      state = 'draining';
      stopping.abort();
      const drained = await Promise.race([
        Promise.allSettled([...loops, sweeping]).then(() => true),
        sleep(config.drainTimeoutMs).then(() => false),
      ]);
      publishing.abort();
      await bus.close();
      server.close();
      server.closeAllConnections();
      state = 'stopped';
      log.info('stopped', {
        drained,
        requests: metrics.requests.total(),
        restarted: metrics.restarts.get({ outcome: 'restarted' }),
      });
      resolveExited(0);
    })();
    return stopped;
  };

  return {
    metrics,
    port,
    get state() {
      return state;
    },
    sweepNow,
    stop,
    exited,
  };
}

function serve(metrics: AgentMetrics, state: () => AgentState): Server {
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
      const ready = state() === 'running';
      res.writeHead(ready ? 200 : 503).end(`${state()}\n`);
      return;
    }
    res.writeHead(404).end('not found\n');
  });
}
