import type { Agent } from 'node:http';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbIncidentStore } from '../../adapters/aws/dynamodb-incident-store.ts';
import { DynamoDbRepeatNotices } from '../../adapters/aws/dynamodb-repeat-notices.ts';
import { DynamoDbRollLocks } from '../../adapters/aws/dynamodb-roll-locks.ts';
import { PullmedicTable } from '../../adapters/aws/dynamodb-table.ts';
import { Ec2LaunchTemplates } from '../../adapters/aws/ec2-launch-templates.ts';
import { Ec2NodeDirectory } from '../../adapters/aws/ec2-node-directory.ts';
import { EventBridgePublisher } from '../../adapters/aws/eventbridge-publisher.ts';
import { AwsRollouts } from '../../adapters/aws/rollouts.ts';
import { SnsNotifier } from '../../adapters/aws/sns-notifier.ts';
import { SqsDeadLetters } from '../../adapters/aws/sqs-dead-letters.ts';
import { SqsRequeue } from '../../adapters/aws/sqs-requeue.ts';
import {
  SsmControlSwitch,
  SsmNodeCommands,
} from '../../adapters/aws/ssm-node-commands.ts';
import type { Clock } from '../../core/ports.ts';
import { type Config, loadConfig, required } from './config.ts';
import { tracer } from './powertools.ts';

/**
 * A hook every SDK client passes through once, when it is built (it may
 * add middleware). The local runtime and the tests use it to fill, in
 * process and visibly, the calls their emulator lacks, and to inject
 * faults; in Lambda there is none.
 */
export type ClientHook = (client: HookableClient) => void;

/** The next handler of an SDK middleware stack, as a hook sees it. */
export type NextHandler = (args: {
  // never: a hook passes the arguments on; what they hold differs by client.
  input: never;
}) => Promise<{ output: unknown; response: unknown }>;

/**
 * What every SDK v3 client offers a hook, whatever its service: an
 * `initialize` step on its middleware stack.
 */
export interface HookableClient {
  middlewareStack: {
    add(
      middleware: (
        next: NextHandler,
        context: { clientName?: string; commandName?: string }
      ) => NextHandler,
      options: {
        step: 'initialize';
        priority?: 'high' | 'normal' | 'low';
        name: string;
      }
    ): void;
  };
}

/**
 * What the local runtime and the tests give a function instead of Lambda's
 * environment: its settings, a hook on its SDK clients, and the client
 * settings (endpoint, region, credentials) of their emulator. Lambda
 * passes nothing: the environment and the SDK's default chain.
 */
export interface WiringOverrides {
  env?: NodeJS.ProcessEnv;
  client?: ClientHook;
  sdk?: {
    endpoint?: string;
    region?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string };
    /**
     * The connections' agent, shared by every client of a local session:
     * each client would otherwise keep its own idle connections open.
     */
    requestHandler?: { httpAgent: Agent };
  };
}

const clock: Clock = { now: () => new Date() };

/** What every function's wiring is built from: the configuration and the SDK options. */
export interface Wiring {
  config: Config;
  /** Passes a new SDK client through the hook and the tracer. */
  client: <T extends HookableClient>(c: T) => T;
  /** The settings every SDK client is built with. */
  options: { maxAttempts: number } & NonNullable<WiringOverrides['sdk']>;
  /** The DynamoDB client the base dependencies already hold. */
  dynamo: DynamoDBClient;
}

/**
 * The composition root of one function: the dependencies every function
 * has (the run mode switch, the bus, its queues, its idempotency records)
 * and the ports it names, built once per handler, on first use, from the
 * environment (so a cold start reads the configuration once and a bad
 * value fails loudly) or from the overrides given. Each function names
 * only the ports it uses, so its bundle carries only their SDK clients
 * (EC2's alone is a megabyte).
 *
 * @example
 * ```ts
 * const dependencies = wire((w) => ({ incidents: incidentStore(w) }));
 * const { incidents, publisher } = dependencies();
 * ```
 */
export function wire<P extends object>(
  ports: (wiring: Wiring) => P,
  overrides: WiringOverrides = {}
): () => BaseDependencies & P {
  let built: (BaseDependencies & P) | undefined;
  return () => {
    if (built === undefined) {
      const base = buildBase(
        loadConfig(overrides.env ?? process.env),
        overrides
      );
      built = { ...base, ...ports(base.wiring) };
    }
    return built;
  };
}

export type BaseDependencies = ReturnType<typeof buildBase>;

function buildBase(config: Config, overrides: WiringOverrides) {
  // Retries are the adapters' and the queues' business: an SDK retry of a
  // non-idempotent call (SendCommand) would run the prune twice.
  const options = { ...overrides.sdk, maxAttempts: config.sdkMaxAttempts };
  const client = <T extends HookableClient>(c: T): T => {
    overrides.client?.(c);
    return tracer.captureAWSv3Client(c as never) as T;
  };
  const sqs = client(new SQSClient(options));
  const dynamo = client(new DynamoDBClient(options));
  const wiring: Wiring = { config, client, options, dynamo };
  return {
    wiring,
    config,
    busName: config.busName,
    clock,
    policy: config.policy,
    control: new SsmControlSwitch(
      client(new SSMClient(options)),
      config.controlParameter,
      config.defaultMode,
      30,
      () => clock.now()
    ),
    publisher: new EventBridgePublisher(
      client(new EventBridgeClient(options)),
      config.busName,
      3
    ),
    /** The function's own queue, for events it looks at again later. */
    requeue() {
      return new SqsRequeue(
        sqs,
        required(config.queueUrl, 'PULLMEDIC_QUEUE_URL')
      );
    },
    /** The function's dead-letter queue, for what it cannot handle. */
    deadLetters() {
      return new SqsDeadLetters(
        sqs,
        required(config.dlqUrl, 'PULLMEDIC_DLQ_URL')
      );
    },
  };
}

/** The pullmedic table, which incidents, roll locks and notices share. */
function table({ config, dynamo }: Wiring): PullmedicTable {
  return new PullmedicTable(
    DynamoDBDocumentClient.from(dynamo, {
      marshallOptions: { removeUndefinedValues: true },
    }),
    required(config.tableName, 'PULLMEDIC_TABLE_NAME'),
    config.policy.incidentTtlSeconds,
    () => clock.now()
  );
}

/** Incidents, one per cluster and node, and the pointers to them. */
export function incidentStore(w: Wiring) {
  return new DynamoDbIncidentStore(table(w));
}

/** The guardrails on rolls: a lock per group, a budget per hour. */
export function rollLocks(w: Wiring) {
  return new DynamoDbRollLocks(table(w));
}

/** Where notify counts a notice that keeps repeating. */
export function repeatNotices(w: Wiring) {
  return new DynamoDbRepeatNotices(table(w));
}

/** Nodes: their instances (EC2) and node groups (EKS). */
export function nodeDirectory({ client, options }: Wiring) {
  return new Ec2NodeDirectory(
    client(new EC2Client(options)),
    client(new EKSClient(options))
  );
}

/**
 * Prune commands, sent once: the SDK never retries SendCommand. The
 * Bottlerocket document is optional, as the stack deploys it.
 */
export function nodeCommands({ client, options, config }: Wiring) {
  return new SsmNodeCommands(
    client(new SSMClient({ ...options, maxAttempts: 1 })),
    {
      containerd: required(config.pruneDocument, 'PULLMEDIC_PRUNE_DOCUMENT'),
      ...(config.pruneBottlerocketDocument
        ? { bottlerocket: config.pruneBottlerocketDocument }
        : {}),
    },
    config.commandTimeoutSeconds
  );
}

export function launchTemplates({ client, options }: Wiring) {
  return new Ec2LaunchTemplates(client(new EC2Client(options)));
}

/** Node group updates (EKS) and instance refreshes (Auto Scaling). */
export function rollouts({ client, options, config }: Wiring) {
  return new AwsRollouts(
    client(new EKSClient(options)),
    client(new AutoScalingClient(options)),
    config.minHealthyPercentage
  );
}

export function notifier({ client, options, config }: Wiring) {
  return new SnsNotifier(
    client(new SNSClient(options)),
    required(config.topicArn, 'PULLMEDIC_TOPIC_ARN')
  );
}
