import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import {
  DynamoDBClient,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import {
  EventBridgeClient,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { ScheduledEvent } from 'aws-lambda';
import { DUE_INDEX, DUE_SHARD } from '../../adapters/aws/dynamodb-table.ts';
import { messageOf } from '../../core/errors.ts';
import type { ReconcileReport } from '../../core/reconcile.ts';
import {
  eventTimeMs,
  shiftEventTimes,
} from '../../events/kubernetes-event-facts.ts';
import type { FunctionName } from '../../events/patterns.ts';
import type { HookableClient } from '../../functions/_shared/wiring.ts';
import { LocalAlarms } from './alarms.ts';
import { AwsCallLog, type CallSite } from './aws-calls.ts';
import { LocalClusterPods, runClusterAgent } from './cluster-agent.ts';
import {
  createLocalEnvironment,
  LOCAL_NAMES,
  type LocalEnvironment,
} from './environment.ts';
import {
  DEFAULT_FLEET,
  type FleetFile,
  type ProvisionedNode,
  provisionFleet,
} from './fleet.ts';
import { type DeadLetter, ForwarderStandIn } from './forwarder-stand-in.ts';
import {
  type LocalHandler,
  loadDefinitions,
  overridesFor,
  QUEUE_FUNCTIONS,
  type ReconcileHandler,
} from './functions.ts';
import { LocalGaps, type Note, nextOrder } from './gaps.ts';
import type { InputItem } from './input.ts';
import { KubeletStandIn } from './kubelet.ts';
import { LabNode, labUnavailable } from './lab-node.ts';
import { type MotoServer, startMoto } from './moto.ts';
import {
  drainAll,
  lambdaContext,
  QueuePoller,
  RECEIVE_MAX,
  receive,
  remove,
} from './poller.ts';
import { RouteWatch } from './route-watch.ts';
import { type LocalNode, SimulatedNode } from './simulated-node.ts';

export type { DeadLetter } from './forwarder-stand-in.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** One event as it crossed the bus. */
export interface BusEvent {
  time: string;
  source: string;
  'detail-type': string;
  detail: Record<string, unknown>;
  id: string;
  'replay-name'?: string;
  /** Position among bus events and notes. */
  order?: number;
}

/** The SQS copy of one SNS notification. */
export interface NotificationCopy {
  /** When SNS accepted it (its envelope's Timestamp). */
  time?: string;
  subject?: string;
  message: string;
  attributes: Record<string, string>;
}

export interface LocalRunOptions {
  items: InputItem[];
  fleet?: FleetFile;
  /** Feed the events this many times, each after the pipeline is quiet. */
  repeat?: number;
  /**
   * Archive the events, then replay them with an EventBridge replay: every
   * decision is taken in dry-run (a postmortem never touches a node).
   */
  replay?: boolean;
  /** Keep the events' own times instead of replaying them as if now. */
  keepTimes?: boolean;
  /** Leave moto running (tests inspect its state); the caller stops it. */
  keepMoto?: boolean;
  verbose?: boolean;
  /**
   * Function settings that differ from serverless.yml's for this run, as
   * in the functions' environment (`PULLMEDIC_MAX_POD_RESTARTS: '0'`).
   */
  settings?: Readonly<Record<string, string>>;
  /**
   * Where the prune runs: `lab` (a real containerd, root only), `simulated`,
   * or `auto` (the lab for the first node when it can run here). Default auto.
   */
  node?: 'auto' | 'lab' | 'simulated';
  onProgress?: (text: string) => void;
}

/** What a run may be made to go through (the fault sweep). */
export interface RunFaults {
  /** The error a call fails with, decided call by call; undefined lets it through. */
  call?: (site: CallSite) => Error | undefined;
  /** Whether the n-th SSM status-change event (1-based) is dropped. */
  dropStatusEvent?: (n: number) => boolean;
}

export interface LocalRunResult {
  fleet: FleetFile;
  nodes: ProvisionedNode[];
  localNodes: LocalNode[];
  env: LocalEnvironment;
  busEvents: BusEvent[];
  notes: Note[];
  notifications: NotificationCopy[];
  deadLetters: DeadLetter[];
  gaps: LocalGaps;
  /** The AWS calls each function made, as IAM actions: what its role must allow. */
  awsCalls: Record<string, string[]>;
  /** Every AWS call, in order, as a call site (the fault sweep's list). */
  callSites: CallSite[];
  /** The alarms that went to ALARM. */
  alarms: string[];
  /** The reconciler's passes that drove something. */
  reconcilerPasses: number;
  endpoint: string;
  moto?: MotoServer;
  shiftMs: number;
}

/**
 * The client settings of the local AWS. Every client of a session shares
 * one agent: the runs of a fault sweep build the functions' clients again
 * and again, and each client's idle keep-alive connections stayed open
 * (two thousand in a quick sweep, past what the emulator accepts).
 */
const clientConfigOf = (endpoint: string, region: string, agent: Agent) => ({
  endpoint,
  region,
  maxAttempts: 1,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  requestHandler: { httpAgent: agent },
});

/**
 * The local runtime: the whole pipeline on a local AWS (moto), with the
 * real handlers, fed with Kubernetes events. See the README for what it
 * fills in moto's place; every such step is reported in `notes`.
 *
 * @example
 * ```ts
 * const result = await runLocal({ items: await readEvents(path) });
 * ```
 */
export async function runLocal(
  options: LocalRunOptions
): Promise<LocalRunResult> {
  const session = await LocalSession.start({
    fleet: options.fleet ?? DEFAULT_FLEET,
    node: options.node ?? 'auto',
    verbose: options.verbose ?? false,
    deferRules: options.replay === true,
    progress: options.onProgress ?? (() => {}),
  });
  try {
    const result = await session.run(options);
    return options.keepMoto ? { ...result, moto: session.moto } : result;
  } finally {
    await session.stopNodes();
    if (!options.keepMoto) await session.moto.stop();
  }
}

/**
 * One local AWS with the pipeline's resources and a fleet in it, ready for
 * runs: `runLocal` makes one run on it; the fault sweep makes many, and
 * resets the emulator's state between them.
 */
export class LocalSession {
  readonly moto: MotoServer;
  readonly fleet: FleetFile;
  /** The SDK client settings of every client of the session's runs. */
  readonly clientConfig: ReturnType<typeof clientConfigOf>;
  readonly #options: SessionOptions;
  readonly #clients: ReturnType<typeof clientsOf>;
  readonly #definitions: Awaited<ReturnType<typeof loadDefinitions>>;
  env!: LocalEnvironment;
  nodes!: ProvisionedNode[];
  localNodes!: LocalNode[];
  readonly #setupNotes: Note[] = [];

  private constructor(
    moto: MotoServer,
    options: SessionOptions,
    definitions: Awaited<ReturnType<typeof loadDefinitions>>
  ) {
    this.moto = moto;
    this.fleet = options.fleet;
    this.#options = options;
    this.clientConfig = clientConfigOf(
      moto.endpoint,
      options.fleet.region,
      // Idle sockets are unreferenced: they never keep the process alive.
      new Agent({ keepAlive: true, maxSockets: 64 })
    );
    this.#clients = clientsOf(this.clientConfig);
    this.#definitions = definitions;
  }

  static async start(options: SessionOptions): Promise<LocalSession> {
    options.progress('starting moto (local AWS) …');
    const moto = await startMoto({ amisPath: resolve(here, 'amis.json') });
    try {
      // Powertools reads its settings once, when the functions load.
      Object.assign(process.env, {
        POWERTOOLS_LOG_LEVEL: options.verbose ? 'INFO' : 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
        POWERTOOLS_TRACE_ENABLED: 'false',
        POWERTOOLS_SERVICE_NAME: 'pullmedic',
        POWERTOOLS_METRICS_NAMESPACE: 'pullmedic',
      });
      const session = new LocalSession(moto, options, await loadDefinitions());
      await session.#provision();
      return session;
    } catch (err) {
      await moto.stop();
      throw err;
    }
  }

  /**
   * Empties the emulator and provisions the resources and the fleet again:
   * the next run starts as the first did. Simulated nodes start afresh; a
   * lab node is not reset (the sweep runs on simulated nodes).
   */
  async reset(): Promise<void> {
    const res = await fetch(`${this.moto.endpoint}/moto-api/reset`, {
      method: 'POST',
    });
    if (!res.ok) throw new Error(`moto did not reset: HTTP ${res.status}`);
    await this.#provision();
  }

  async stopNodes(): Promise<void> {
    for (const n of this.localNodes ?? []) await n.stop?.();
  }

  async #provision(): Promise<void> {
    const { progress } = this.#options;
    progress(
      'creating the bus, rules, queues, topic, table and SSM document …'
    );
    this.env = await createLocalEnvironment(this.#clients, {
      deferRules: this.#options.deferRules,
    });
    progress('creating the fleet …');
    this.nodes = await provisionFleet(this.fleet, this.#clients);
    this.#setupNotes.length = 0;
    await this.stopNodes();
    this.localNodes = await makeNodes(
      this.nodes,
      this.#options.node,
      this.#setupNotes,
      progress
    );
  }

  /** One run of the pipeline over `options.items`, optionally through faults. */
  async run(
    options: LocalRunOptions,
    faults: RunFaults = {}
  ): Promise<LocalRunResult> {
    return new LocalRun(this, this.#clients, this.#definitions, [
      ...this.#setupNotes,
    ]).run(options, faults);
  }
}

interface SessionOptions {
  fleet: FleetFile;
  node: 'auto' | 'lab' | 'simulated';
  verbose: boolean;
  deferRules: boolean;
  progress: (text: string) => void;
}

function clientsOf(config: ReturnType<typeof clientConfigOf>) {
  return {
    eventBridge: new EventBridgeClient(config),
    sqs: new SQSClient(config),
    sns: new SNSClient(config),
    dynamo: new DynamoDBClient(config),
    ssm: new SSMClient(config),
    ec2: new EC2Client(config),
    eks: new EKSClient(config),
    autoscaling: new AutoScalingClient(config),
  };
}

/**
 * The longest the pipeline may go without making progress before the run
 * gives up: a storm takes as long as it takes, as long as it moves.
 */
const STALL_MS = 60_000;
/** Events fed to the bus before the queues are taken down again. */
const FEED_CHUNK = 100;

/**
 * How far ahead of now the reconciler may be run (time moved on to a
 * deadline): the longest step deadline (a prune's result, 27 minutes) and
 * some. Beyond it the functions, which keep the real clock, would not see
 * the time the reconciler sees.
 */
const RECONCILER_HORIZON_MS = 3_600_000;
/** At most this many reconciler passes in one drain. */
const MAX_RECONCILER_PASSES = 50;

/** One run: the stand-ins, the pollers and the drain, over one session. */
class LocalRun {
  readonly #session: LocalSession;
  readonly #c: ReturnType<typeof clientsOf>;
  readonly #definitions: Awaited<ReturnType<typeof loadDefinitions>>;
  readonly #notes: Note[];
  readonly #busEvents: BusEvent[] = [];
  readonly #deadLetters: DeadLetter[] = [];
  readonly #calls = new AwsCallLog();
  readonly #routes = new RouteWatch(QUEUE_FUNCTIONS);
  #reconcilerPasses = 0;

  constructor(
    session: LocalSession,
    clients: ReturnType<typeof clientsOf>,
    definitions: Awaited<ReturnType<typeof loadDefinitions>>,
    notes: Note[]
  ) {
    this.#session = session;
    this.#c = clients;
    this.#definitions = definitions;
    this.#notes = notes;
  }

  #note(who: string, text: string) {
    this.#notes.push({ at: new Date(), order: nextOrder(), who, text });
  }

  async run(
    options: LocalRunOptions,
    faults: RunFaults
  ): Promise<LocalRunResult> {
    const session = this.#session;
    const { env, fleet, nodes, localNodes } = session;
    const progress = options.onProgress ?? (() => {});
    const byInstance = new Map(
      nodes.map((n, i) => [n.instanceId, localNodes[i] as LocalNode])
    );
    const gaps = new LocalGaps(byInstance, this.#c.eventBridge, this.#notes);
    gaps.dropStatusEvent = faults.dropStatusEvent;
    this.#calls.fault = faults.call;
    const hook = (client: HookableClient) => {
      this.#calls.install(client);
      gaps.install(client);
    };
    const sdk = session.clientConfig;
    const handlers = Object.fromEntries(
      QUEUE_FUNCTIONS.map((fn) => [
        fn,
        this.#definitions.queued[fn].handler(
          overridesFor(fn, env, sdk, hook, options.settings)
        ),
      ])
    ) as Record<FunctionName, LocalHandler>;
    const reconcile = this.#definitions.reconcile.handler(
      overridesFor('reconcile', env, sdk, hook, options.settings)
    );
    const pollers = QUEUE_FUNCTIONS.map(
      (fn) =>
        [
          fn,
          new QueuePoller(
            this.#c.sqs,
            fn,
            env.queues[fn],
            handlers[fn],
            fleet.region
          ),
        ] as const
    );
    const byName = new Map(localNodes.map((n) => [n.name, n]));
    const kubelet = new KubeletStandIn(byName, this.#notes);
    const clusterPods = new LocalClusterPods(kubelet, this.#notes);
    const forwarder = new ForwarderStandIn({
      eventBridge: this.#c.eventBridge,
      sqs: this.#c.sqs,
      busName: env.busName,
      cluster: fleet.cluster,
      nodes: new Map(
        nodes.map((n) => [n.spec.name, { providerID: n.providerID }])
      ),
      ingestDlqUrl: env.ingestDlqUrl,
      notes: this.#notes,
      deadLetters: this.#deadLetters,
      observe: (e) => kubelet.observe(e),
    });
    const alarms = new LocalAlarms(
      this.#c.sns,
      this.#c.sqs,
      env.topicArn,
      this.#notes
    );

    const times = options.items
      .flatMap((i) => ('event' in i ? [eventTimeMs(i.event)] : []))
      .filter((t): t is number => t !== undefined);
    const shiftMs =
      options.keepTimes || !times.length
        ? 0
        : Date.now() - 1000 - Math.max(...times);
    const good = options.items.flatMap((i) =>
      'event' in i ? [shiftEventTimes(i.event, shiftMs)] : []
    );
    const rejects = options.items.filter((i) => 'error' in i);

    const drain = () =>
      this.#drain(
        pollers,
        gaps,
        kubelet,
        clusterPods,
        forwarder,
        alarms,
        reconcile
      );
    if (options.replay) {
      progress(`archiving ${good.length} events, then replaying them …`);
      await this.#replay(forwarder, good, rejects);
      await drain();
    }
    const repeat = options.replay ? 0 : (options.repeat ?? 1);
    for (let pass = 1; pass <= repeat; pass++) {
      progress(
        `feeding ${options.items.length} events${repeat > 1 ? ` (pass ${pass} of ${repeat})` : ''} …`
      );
      await this.#feed(forwarder, pollers, good, pass === 1 ? rejects : []);
      await drain();
    }

    const notifications = await this.#notifications();
    for (const fn of QUEUE_FUNCTIONS) {
      for (const m of await drainAll(this.#c.sqs, env.queues[fn].dlqUrl)) {
        this.#deadLetters.push({
          queue: fn,
          body: m.Body ?? '',
          reason:
            m.MessageAttributes?.reason?.StringValue ?? 'retries exhausted',
        });
      }
    }
    return {
      fleet,
      nodes,
      localNodes,
      env,
      busEvents: this.#busEvents,
      notes: this.#notes,
      notifications,
      deadLetters: this.#deadLetters,
      gaps,
      awsCalls: this.#calls.actions(),
      callSites: [...this.#calls.sites],
      alarms: alarms.firing,
      reconcilerPasses: this.#reconcilerPasses,
      endpoint: session.moto.endpoint,
      shiftMs,
    };
  }

  /**
   * Feeds the events as the forwarder sends a burst: a chunk at a time,
   * each taken off the queues before the next, so a storm's queues stay
   * as short as those of a pipeline that keeps up.
   */
  async #feed(
    forwarder: ForwarderStandIn,
    pollers: (readonly [FunctionName, QueuePoller])[],
    good: Record<string, unknown>[],
    rejects: InputItem[]
  ): Promise<void> {
    await forwarder.forward(good.slice(0, FEED_CHUNK), rejects);
    for (let i = FEED_CHUNK; i < good.length; i += FEED_CHUNK) {
      while (await this.#pollQueues(pollers)) {
        // until the queues are empty
      }
      await forwarder.forward(good.slice(i, i + FEED_CHUNK));
    }
  }

  /**
   * A postmortem replay, the way AWS does it: the events go into the bus's
   * archive first (no rule acts on them yet), then an EventBridge replay
   * sends them to the rules again, each with replay-name set, and the
   * functions decide in dry-run.
   */
  async #replay(
    forwarder: ForwarderStandIn,
    good: Record<string, unknown>[],
    rejects: InputItem[]
  ): Promise<void> {
    const env = this.#session.env;
    await forwarder.forward(good, rejects);
    await env.connectRules();
    const replayName = `pullmedic-local-${Date.now()}`;
    const earliest = Math.min(...good.map((e) => eventTimeMs(e) ?? Date.now()));
    await this.#c.eventBridge.send(
      new StartReplayCommand({
        ReplayName: replayName,
        EventSourceArn: env.archiveArn,
        EventStartTime: new Date(earliest - 3_600_000),
        EventEndTime: new Date(Date.now() + 60_000),
        Destination: { Arn: env.busArn },
      })
    );
    this.#note(
      'local',
      `EventBridge replay ${replayName} of archive ${LOCAL_NAMES.archive} started: moto replays at once and ignores the time window`
    );
  }

  /**
   * Runs the pipeline until it is quiet: every queue drained into its
   * function, what the functions put on the bus copied for the output, the
   * SSM agent stand-in's commands run, the kubelet stand-in's retries fed
   * back, the alarms evaluated, and, once nothing else moves, the
   * reconciler run as at the next deadline. It gives up only when nothing
   * has moved for a minute, however long the whole takes.
   */
  async #drain(
    pollers: (readonly [FunctionName, QueuePoller])[],
    gaps: LocalGaps,
    kubelet: KubeletStandIn,
    clusterPods: LocalClusterPods,
    forwarder: ForwarderStandIn,
    alarms: LocalAlarms,
    reconcile: ReconcileHandler
  ): Promise<void> {
    let lastProgress = Date.now();
    const reconciler = { passes: 0 };
    // moto delivers to SQS inside PutEvents and Publish: one pass in which
    // nothing moved means nothing will.
    for (;;) {
      if (Date.now() - lastProgress > STALL_MS) {
        throw new Error(
          `the pipeline made no progress for ${STALL_MS / 1000} s`
        );
      }
      const worked =
        (await this.#pollQueues(pollers)) ||
        // Every queue, the ones the bus did not route to as well, before
        // anything that waits for empty queues.
        (await this.#pollQueues(pollers, { everyQueue: true })) ||
        (await this.#whenQuiet(
          gaps,
          kubelet,
          clusterPods,
          forwarder,
          alarms
        )) ||
        (await this.#reconcileWhenQuiet(reconcile, alarms, reconciler));
      if (!worked) return;
      lastProgress = Date.now();
    }
  }

  /**
   * Each queue that may hold messages (see RouteWatch), or with
   * `everyQueue` each queue, once into its function; how many records
   * moved.
   */
  async #pollQueues(
    pollers: (readonly [FunctionName, QueuePoller])[],
    { everyQueue = false } = {}
  ): Promise<number> {
    let worked = await this.#drainTap();
    for (const [fn, poller] of pollers) {
      if (!everyQueue && !this.#routes.mayHold(fn)) continue;
      const polled = await this.#calls.during(fn, () => poller.poll());
      this.#routes.polled(fn, polled.received);
      this.#noteFailures(fn, polled);
      if (polled.failed.length) await this.#invocationsTimedOut(fn);
      worked += polled.received;
      // What the function put on the bus, before the next one's notes.
      if (polled.received) worked += await this.#drainTap();
    }
    return worked;
  }

  /**
   * What happens while the queues are empty: the SSM agent stand-in runs
   * the commands sent, the kubelet stand-in retries its pulls, the alarms
   * look at the dead-letter queues.
   */
  async #whenQuiet(
    gaps: LocalGaps,
    kubelet: KubeletStandIn,
    clusterPods: LocalClusterPods,
    forwarder: ForwarderStandIn,
    alarms: LocalAlarms
  ): Promise<number> {
    if (gaps.busy) {
      const ran = await gaps.runPending();
      if (ran) return ran;
    }
    // The agent acts within seconds of a restart request; the kubelet's
    // own retry waits for its back-off, so the agent goes first.
    const env = this.#session.env;
    const restarts = await runClusterAgent(
      this.#c,
      env.agentUrl,
      env.busName,
      clusterPods,
      this.#notes
    );
    if (restarts) return restarts;
    const retried = await kubelet.retryAfterPrune(gaps.pruned);
    if (retried.length) {
      await forwarder.forward(retried);
      return retried.length;
    }
    await alarms.evaluate(
      QUEUE_FUNCTIONS.map((fn) => ({ fn, url: env.queues[fn].dlqUrl }))
    );
    return 0;
  }

  /** The reconciler, when nothing else moves, at most so many times a drain. */
  async #reconcileWhenQuiet(
    reconcile: ReconcileHandler,
    alarms: LocalAlarms,
    reconciler: { passes: number }
  ): Promise<number> {
    if (reconciler.passes >= MAX_RECONCILER_PASSES) return 0;
    const drove = await this.#reconcileIfDue(reconcile, alarms);
    if (drove) reconciler.passes++;
    return drove;
  }

  #noteFailures(
    fn: string,
    polled: { failed: string[]; error?: string }
  ): void {
    if (polled.error) this.#note('local', `${fn} failed: ${polled.error}`);
    for (const id of polled.failed) {
      this.#note(
        'local',
        `${fn} failed record ${id}: SQS delivers it again, and the last delivery is dead-lettered with its reason`
      );
    }
  }

  /**
   * A failed record is visible again at once here; on AWS, SQS waits the
   * visibility timeout (six times the function's timeout), and by then the
   * invocation's time is up and with it the in-progress mark Powertools
   * idempotency left on a decision that failed half way (its save or its
   * delete failed). The local runtime lets that time pass for the marks:
   * each in-progress one expires now.
   */
  async #invocationsTimedOut(fn: string): Promise<void> {
    const out = await this.#c.dynamo.send(
      new ScanCommand({
        TableName: LOCAL_NAMES.table,
        FilterExpression: '#status = :inprogress AND begins_with(pk, :prefix)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':inprogress': { S: 'INPROGRESS' },
          ':prefix': { S: `IDEMPOTENCY#${fn}` },
        },
        ProjectionExpression: 'pk',
      })
    );
    for (const item of out.Items ?? []) {
      await this.#c.dynamo.send(
        new UpdateItemCommand({
          TableName: LOCAL_NAMES.table,
          Key: { pk: item.pk as { S: string } },
          UpdateExpression: 'SET in_progress_expiration = :past',
          ExpressionAttributeValues: { ':past': { N: String(Date.now() - 1) } },
        })
      );
      this.#note(
        'local',
        `${fn}'s in-progress decision ${item.pk?.S} expired: its invocation's time is up before SQS delivers the record again`
      );
    }
  }

  /** Copies what crossed the bus (the tap queue) into the run's events. */
  async #drainTap(): Promise<number> {
    let n = 0;
    for (;;) {
      const messages = await receive(this.#c.sqs, this.#session.env.tapUrl);
      for (const m of messages) {
        const event = JSON.parse(m.Body ?? '{}') as BusEvent;
        this.#busEvents.push({ ...event, order: nextOrder() });
        this.#routes.crossedBus(event.source, event['detail-type']);
      }
      n += messages.length;
      await remove(this.#c.sqs, this.#session.env.tapUrl, messages);
      // moto hands out every visible message, RECEIVE_MAX at a time, and
      // nothing puts on the bus while the runtime drains: a short batch was
      // the last. (Were it not, the next drain takes the rest.)
      if (messages.length < RECEIVE_MAX) return n;
    }
  }

  /**
   * moto fires no schedules: when the pipeline is quiet and a live incident
   * has a deadline, the reconciler runs as at that deadline (time moves on
   * to it). Returns how many incidents it drove.
   */
  async #reconcileIfDue(
    reconcile: ReconcileHandler,
    alarms: LocalAlarms
  ): Promise<number> {
    const due = await this.#earliestDue();
    if (due === undefined) return 0;
    // The functions keep the real clock: time can only move on as far as
    // the steps' own deadlines reach. An incident that waits longer (a
    // group's cooldown) waits past the end of the run, and is said to.
    if (Date.parse(due) - Date.now() > RECONCILER_HORIZON_MS) {
      this.#note(
        'local',
        `an incident waits until ${due} (beyond the steps' deadlines: a node group's cooldown); the run ends with it open`
      );
      return 0;
    }
    const at = new Date(Math.max(Date.parse(due), Date.now())).toISOString();
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: at,
      region: this.#session.fleet.region,
      resources: [],
      detail: {},
    } as ScheduledEvent;
    try {
      const report = (await this.#calls.during('reconcile', () =>
        reconcile(event, lambdaContext('reconcile'))
      )) as ReconcileReport;
      if (report.driven.length === 0) return 0;
      this.#reconcilerPasses++;
      this.#note(
        'local',
        `the reconciler ran as at ${at}, the next deadline (moto fires no schedules): ${report.driven.map((d) => `${d.incidentId}: ${d.action}`).join('; ')}`
      );
      return report.driven.length;
    } catch (err) {
      this.#note('local', `the reconciler failed: ${messageOf(err)}`);
      await alarms.reconcilerFailed(messageOf(err));
      return 0;
    }
  }

  /** The earliest deadline of an open live incident, from the due index. */
  async #earliestDue(): Promise<string | undefined> {
    const out = await this.#c.dynamo.send(
      new QueryCommand({
        TableName: LOCAL_NAMES.table,
        IndexName: DUE_INDEX,
        KeyConditionExpression: 'openShard = :open',
        ExpressionAttributeValues: { ':open': { S: DUE_SHARD } },
        Limit: 1,
      })
    );
    return out.Items?.[0]?.due?.S;
  }

  async #notifications(): Promise<NotificationCopy[]> {
    return (
      await drainAll(this.#c.sqs, this.#session.env.notificationsUrl)
    ).map((m) => {
      const envelope = JSON.parse(m.Body ?? '{}') as {
        Timestamp?: string;
        Subject?: string;
        Message: string;
        MessageAttributes?: Record<string, { Value: string }>;
      };
      return {
        ...(envelope.Timestamp ? { time: envelope.Timestamp } : {}),
        ...(envelope.Subject ? { subject: envelope.Subject } : {}),
        message: envelope.Message,
        attributes: Object.fromEntries(
          Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [
            k,
            v.Value,
          ])
        ),
      };
    });
  }
}

/**
 * The nodes commands run on: the lab for the first node when asked or when
 * it can run here (auto), simulated nodes otherwise, each choice noted.
 */
async function makeNodes(
  nodes: ProvisionedNode[],
  choice: 'auto' | 'lab' | 'simulated',
  notes: Note[],
  progress: (text: string) => void
): Promise<LocalNode[]> {
  const why =
    choice === 'simulated' ? 'asked for a simulated node' : labUnavailable();
  if (why !== undefined && choice === 'lab')
    throw new Error(`cannot use the lab: ${why}`);
  const simulated = (n: ProvisionedNode, reason: string) => {
    notes.push({
      at: new Date(),
      order: nextOrder(),
      who: 'simulated',
      text: `${n.spec.name} is a simulated node: ${reason}`,
    });
    return new SimulatedNode(n.spec, n.volumeIds);
  };
  return Promise.all(
    nodes.map(async (n, i) => {
      if (i > 0) return new SimulatedNode(n.spec, n.volumeIds);
      if (why !== undefined) return simulated(n, why);
      progress(
        'starting the containerd lab (a real containerd on a small tmpfs) …'
      );
      let lab: LabNode;
      try {
        lab = await LabNode.start(n.spec.name);
      } catch (err) {
        // Asked for the lab: its failure is the answer. Auto: the incident
        // still runs, on a simulated node, and the note says why.
        if (choice === 'lab') throw err;
        const reason = labFailure(err);
        progress(
          `the containerd lab did not start (${reason}); simulating the node`
        );
        return simulated(n, `the containerd lab did not start: ${reason}`);
      }
      notes.push({
        at: new Date(),
        order: nextOrder(),
        who: 'lab',
        text: `${n.spec.name} is the containerd lab: a real containerd whose root is a small tmpfs; the seed's pull failed there for real: ${lab.reproduced}`,
      });
      return lab;
    })
  );
}

/** The lab script's own last error line, or the error's first line. */
const labFailure = (err: unknown): string => {
  const text =
    err instanceof Error
      ? `${(err as { stderr?: string }).stderr ?? ''}\n${err.message}`
      : String(err);
  const said = text.match(/^lab\/\w+: error: (.+)$/m)?.[1];
  return said ?? text.trim().split('\n')[0] ?? 'unknown error';
};
