import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { FunctionName } from '../../events/patterns.ts';
import { toPutEventsEntry } from '../../forwarder/transform.ts';
import { AwsCallLog } from './aws-calls.ts';
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
import { LocalGaps, type Note, nextOrder } from './gaps.ts';
import { type InputItem, latestTime, shiftTimes } from './input.ts';
import { KubeletStandIn } from './kubelet.ts';
import { LabNode, labUnavailable } from './lab-node.ts';
import { type MotoServer, startMoto } from './moto.ts';
import { type LocalNode, SimulatedNode } from './simulated-node.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** SQS's limit on a message body, in bytes (UTF-8). */
const SQS_MAX_BODY_BYTES = 256 * 1024;
/** What SQS refuses in a message: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000+ are allowed. */
const SQS_REFUSED = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * A dead line as an SQS message can carry it: the characters SQS refuses
 * (NUL, lone surrogates…) become U+FFFD, and the text is cut to SQS's size
 * limit. The run's own dead letters keep the line as it was.
 */
const sqsBody = (raw: string): string => {
  const text = raw.replace(SQS_REFUSED, '\uFFFD') || '(empty)';
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= SQS_MAX_BODY_BYTES) return text;
  // Cut on a character boundary: a partial UTF-8 sequence decodes as U+FFFD.
  return `${bytes.subarray(0, SQS_MAX_BODY_BYTES - 64).toString('utf8')} …[cut]`;
};

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

export interface DeadLetter {
  queue: string;
  body: string;
  reason: string;
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
   * Where the prune runs: `lab` (a real containerd, root only), `simulated`,
   * or `auto` (the lab for the first node when it can run here). Default auto.
   */
  node?: 'auto' | 'lab' | 'simulated';
  onProgress?: (text: string) => void;
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
  endpoint: string;
  moto?: MotoServer;
  shiftMs: number;
}

type Handler = (
  event: SQSEvent,
  context: Context
) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

const ORDER: FunctionName[] = [
  'classify',
  'remediate',
  'prune-result',
  'roll-volume',
  'watch-rollout',
  'resolve',
  'notify',
];

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
  const fleet = options.fleet ?? DEFAULT_FLEET;
  const progress = options.onProgress ?? (() => {});
  progress('starting moto (local AWS) …');
  const moto = await startMoto({ amisPath: resolve(here, 'amis.json') });
  const stops: (() => Promise<void>)[] = [];
  try {
    return await run(options, fleet, moto, progress, stops);
  } finally {
    for (const stop of stops) await stop();
    if (!options.keepMoto) await moto.stop();
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

async function run(
  options: LocalRunOptions,
  fleet: FleetFile,
  moto: MotoServer,
  progress: (text: string) => void,
  stops: (() => Promise<void>)[]
): Promise<LocalRunResult> {
  const region = fleet.region;
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    PULLMEDIC_BUS_NAME: LOCAL_NAMES.bus,
    PULLMEDIC_TABLE_NAME: LOCAL_NAMES.table,
    PULLMEDIC_PRUNE_DOCUMENT: LOCAL_NAMES.pruneDocument,
    PULLMEDIC_PRUNE_BOTTLEROCKET_DOCUMENT:
      LOCAL_NAMES.pruneBottlerocketDocument,
    PULLMEDIC_CONTROL_PARAMETER: LOCAL_NAMES.controlParameter,
    // moto answers 500 for what it lacks; an SDK retry would repeat side effects.
    PULLMEDIC_SDK_MAX_ATTEMPTS: '1',
    POWERTOOLS_LOG_LEVEL: options.verbose ? 'INFO' : 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_SERVICE_NAME: 'pullmedic',
    POWERTOOLS_METRICS_NAMESPACE: 'pullmedic',
  });
  const config = {
    endpoint: moto.endpoint,
    region,
    maxAttempts: 1,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const eventBridge = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  const clients = {
    eventBridge,
    sqs,
    sns: new SNSClient(config),
    dynamo: new DynamoDBClient(config),
    ssm: new SSMClient(config),
  };
  progress('creating the bus, rules, queues, topic, table and SSM document …');
  const env = await createLocalEnvironment(clients, {
    deferRules: options.replay === true,
  });
  process.env.PULLMEDIC_TOPIC_ARN = env.topicArn;
  for (const fn of ORDER) {
    const suffix = fn.toUpperCase().replace(/-/g, '_');
    process.env[`PULLMEDIC_DLQ_URL_${suffix}`] = env.queues[fn].dlqUrl;
    process.env[`PULLMEDIC_QUEUE_URL_${suffix}`] = env.queues[fn].url;
  }
  // EKS and Auto Scaling take minutes between looks at a rollout; the
  // local stand-ins answer at once.
  process.env.PULLMEDIC_WATCH_DELAY_SECONDS = '0';
  // And a BackOff that overtook its Failed event looks again at once: the
  // queues are drained in turn, so the Failed event is handled by then.
  process.env.PULLMEDIC_LOOK_AGAIN_SECONDS = '0';
  progress('creating the fleet …');
  const nodes = await provisionFleet(fleet, {
    ec2: new EC2Client(config),
    eks: new EKSClient(config),
    autoscaling: new AutoScalingClient(config),
  });
  const notes: Note[] = [];
  const localNodes = await makeNodes(
    nodes,
    options.node ?? 'auto',
    notes,
    progress
  );
  stops.push(...localNodes.map((n) => () => n.stop?.() ?? Promise.resolve()));
  const byInstance = new Map(
    nodes.map((n, i) => [n.instanceId, localNodes[i] as LocalNode])
  );
  const byName = new Map(localNodes.map((n) => [n.name, n]));

  const gaps = new LocalGaps(byInstance, eventBridge, notes);
  // Imported only now: Powertools reads its environment when it loads.
  const wiring = await import('../../functions/_shared/wiring.ts');
  const awsCalls = new AwsCallLog();
  wiring.setClientHook((client) => {
    awsCalls.install(client);
    gaps.install(client);
  });
  wiring.resetDependencies();
  const handlers = await loadHandlers();
  const kubelet = new KubeletStandIn(byName, notes);
  const nodeInfo = new Map(
    nodes.map((n) => [n.spec.name, { providerID: n.providerID }])
  );

  const busEvents: BusEvent[] = [];
  const deadLetters: DeadLetter[] = [];
  const times = options.items
    .flatMap((i) => ('event' in i ? [latestTime(i.event)] : []))
    .filter((t): t is number => t !== undefined);
  const shiftMs =
    options.keepTimes || !times.length
      ? 0
      : Date.now() - 1000 - Math.max(...times);

  const forward = async (
    events: Record<string, unknown>[],
    rejects: InputItem[]
  ) => {
    for (const bad of rejects) {
      if ('error' in bad) {
        deadLetters.push({
          queue: 'forwarder',
          body: bad.raw,
          reason: `line ${bad.line}: ${bad.error}`,
        });
        try {
          await sqs.send(
            new SendMessageCommand({
              QueueUrl: env.ingestDlqUrl,
              MessageBody: sqsBody(bad.raw),
              MessageAttributes: {
                reason: {
                  DataType: 'String',
                  StringValue: sqsBody(`line ${bad.line}: ${bad.error}`),
                },
              },
            })
          );
        } catch (err) {
          // The line is kept in the run's dead letters all the same; a
          // queue that refuses its copy must not stop the run.
          notes.push({
            at: new Date(),
            order: nextOrder(),
            who: 'local',
            text: `line ${bad.line} is dead-lettered in this run, but the dead-letter queue refused its copy: ${(err as Error).message}`,
          });
        }
      }
    }
    const entries: PutEventsRequestEntry[] = events.map((e) => {
      kubelet.observe(e);
      const entry = toPutEventsEntry(e, {
        cluster: fleet.cluster,
        busName: env.busName,
        nodes: nodeInfo,
      });
      const t = latestTime(e);
      return t === undefined ? entry : { ...entry, Time: new Date(t) };
    });
    for (let i = 0; i < entries.length; i += 10) {
      const batch = entries.slice(i, i + 10);
      const out = await eventBridge.send(
        new PutEventsCommand({ Entries: batch })
      );
      out.Entries?.forEach((e, j) => {
        if (e.ErrorCode) {
          deadLetters.push({
            queue: 'forwarder',
            body: String(batch[j]?.Detail),
            reason: `${e.ErrorCode}: ${e.ErrorMessage ?? ''}`,
          });
        }
      });
    }
  };

  const drainTap = async () => {
    let n = 0;
    for (;;) {
      const messages = await receive(sqs, env.tapUrl);
      if (!messages.length) return n;
      for (const m of messages) {
        busEvents.push({
          ...(JSON.parse(m.Body ?? '{}') as BusEvent),
          order: nextOrder(),
        });
      }
      n += messages.length;
      await remove(sqs, env.tapUrl, messages);
    }
  };

  const runQueue = async (fn: FunctionName) => {
    const url = env.queues[fn].url;
    const messages = await receive(sqs, url);
    if (!messages.length) return 0;
    const arn = env.queues[fn].arn;
    const event: SQSEvent = {
      Records: messages.map((m) => toRecord(m, arn, region)),
    };
    let result: Awaited<ReturnType<Handler>>;
    try {
      result = await awsCalls.during(fn, () =>
        (handlers[fn] as Handler)(event, fakeContext(fn))
      );
    } catch (err) {
      // Powertools throws when every record failed; Lambda then retries the
      // whole batch, as the runtime does here.
      const errors = (err as { recordErrors?: Error[] }).recordErrors ?? [
        err as Error,
      ];
      for (const e of errors) {
        notes.push({
          at: new Date(),
          order: nextOrder(),
          who: 'local',
          text: `${fn} failed: ${e.message}`,
        });
      }
      result = {
        batchItemFailures: messages.map((m) => ({
          itemIdentifier: m.MessageId as string,
        })),
      };
    }
    const failed = new Set(
      result?.batchItemFailures?.map((f) => f.itemIdentifier) ?? []
    );
    for (const id of failed) {
      notes.push({
        at: new Date(),
        order: nextOrder(),
        who: 'local',
        text: `${fn} failed record ${id}: SQS will retry it, then dead-letter it`,
      });
    }
    await remove(
      sqs,
      url,
      messages.filter((m) => !failed.has(m.MessageId as string))
    );
    return messages.length;
  };

  const drain = async () => {
    const deadline = Date.now() + 120_000;
    let idle = 0;
    while (idle < 2) {
      if (Date.now() > deadline)
        throw new Error('the pipeline did not go quiet within 120 s');
      let worked = await drainTap();
      for (const fn of ORDER) {
        worked += await runQueue(fn);
        // What the function put on the bus, before the next one's notes.
        worked += await drainTap();
      }
      if (!worked && gaps.busy) worked += await gaps.runPending();
      if (!worked) {
        const retried = await kubelet.retryAfterPrune(gaps.pruned);
        if (retried.length) {
          await forward(retried, []);
          worked += retried.length;
        }
      }
      if (worked) {
        idle = 0;
        continue;
      }
      // Records that failed come back after their visibility timeout.
      if (
        await inFlight(
          sqs,
          Object.values(env.queues).map((q) => q.url)
        )
      ) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      idle++;
    }
  };

  const good = options.items.flatMap((i) =>
    'event' in i ? [shiftTimes(i.event, shiftMs)] : []
  );
  const rejects = options.items.filter((i) => 'error' in i);
  if (options.replay) {
    // A postmortem replay, the way AWS does it: the events go into the
    // bus's archive first (no rule acts on them yet), then an EventBridge
    // replay sends them to the rules again, each with replay-name set, and
    // the functions decide in dry-run.
    progress(`archiving ${good.length} events, then replaying them …`);
    await forward(good, rejects);
    await env.connectRules();
    const replayName = `pullmedic-local-${Date.now()}`;
    const earliest = Math.min(...good.map((e) => latestTime(e) ?? Date.now()));
    await eventBridge.send(
      new StartReplayCommand({
        ReplayName: replayName,
        EventSourceArn: env.archiveArn,
        EventStartTime: new Date(earliest - 3_600_000),
        EventEndTime: new Date(Date.now() + 60_000),
        Destination: { Arn: env.busArn },
      })
    );
    notes.push({
      at: new Date(),
      order: nextOrder(),
      who: 'local',
      text: `EventBridge replay ${replayName} of archive ${LOCAL_NAMES.archive} started: moto replays at once and ignores the time window`,
    });
    await drain();
  }
  const repeat = options.replay ? 0 : (options.repeat ?? 1);
  for (let pass = 1; pass <= repeat; pass++) {
    progress(
      `feeding ${options.items.length} events${repeat > 1 ? ` (pass ${pass} of ${repeat})` : ''} …`
    );
    await forward(good, pass === 1 ? rejects : []);
    await drain();
  }

  const notifications = (await drainAll(sqs, env.notificationsUrl)).map((m) => {
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
  for (const fn of ORDER) {
    for (const m of await drainAll(sqs, env.queues[fn].dlqUrl)) {
      deadLetters.push({
        queue: fn,
        body: m.Body ?? '',
        reason: m.MessageAttributes?.reason?.StringValue ?? 'retries exhausted',
      });
    }
  }
  wiring.setClientHook(undefined);
  return {
    fleet,
    nodes,
    localNodes,
    env,
    busEvents,
    notes,
    notifications,
    deadLetters,
    gaps,
    awsCalls: awsCalls.actions(),
    endpoint: moto.endpoint,
    ...(options.keepMoto ? { moto } : {}),
    shiftMs,
  };
}

async function loadHandlers(): Promise<Record<FunctionName, Handler>> {
  const [
    classify,
    remediate,
    pruneResult,
    rollVolume,
    watch,
    resolveFn,
    notify,
  ] = await Promise.all([
    import('../../functions/classify.ts'),
    import('../../functions/remediate.ts'),
    import('../../functions/prune-result.ts'),
    import('../../functions/roll-volume.ts'),
    import('../../functions/watch-rollout.ts'),
    import('../../functions/resolve.ts'),
    import('../../functions/notify.ts'),
  ]);
  return {
    classify: classify.handler as unknown as Handler,
    remediate: remediate.handler as unknown as Handler,
    'prune-result': pruneResult.handler as unknown as Handler,
    'roll-volume': rollVolume.handler as unknown as Handler,
    'watch-rollout': watch.handler as unknown as Handler,
    resolve: resolveFn.handler as unknown as Handler,
    notify: notify.handler as unknown as Handler,
  };
}

async function receive(sqs: SQSClient, url: string): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    })
  );
  return out.Messages ?? [];
}

async function remove(sqs: SQSClient, url: string, messages: Message[]) {
  if (!messages.length) return;
  await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: url,
      Entries: messages.map((m, i) => ({
        Id: String(i),
        ReceiptHandle: m.ReceiptHandle as string,
      })),
    })
  );
}

async function drainAll(sqs: SQSClient, url: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const batch = await receive(sqs, url);
    if (!batch.length) return all;
    all.push(...batch);
    await remove(sqs, url, batch);
  }
}

async function inFlight(sqs: SQSClient, urls: string[]): Promise<boolean> {
  for (const url of urls) {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessages',
        ],
      })
    );
    const a = out.Attributes ?? {};
    if (
      Number(a.ApproximateNumberOfMessagesNotVisible) +
        Number(a.ApproximateNumberOfMessages) >
      0
    )
      return true;
  }
  return false;
}

function toRecord(m: Message, arn: string, region: string): SQSRecord {
  const attrs = m.Attributes ?? {};
  return {
    messageId: m.MessageId as string,
    receiptHandle: m.ReceiptHandle as string,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attrs.ApproximateReceiveCount ?? '1',
      SentTimestamp: attrs.SentTimestamp ?? String(Date.now()),
      SenderId: attrs.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp:
        attrs.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
        k,
        {
          dataType: v.DataType ?? 'String',
          ...(v.StringValue !== undefined
            ? { stringValue: v.StringValue }
            : {}),
        },
      ])
    ),
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: region,
  };
}

function fakeContext(fn: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: `pullmedic-local-${fn}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:pullmedic-local-${fn}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/pullmedic-local-${fn}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
