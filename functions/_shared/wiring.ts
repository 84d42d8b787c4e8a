import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
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
 * A hook every SDK client passes through once, when it is built. The local
 * runtime uses it to fill, in-process and visibly, the calls its emulator
 * lacks; in Lambda it is unset.
 */
export type ClientHook = (client: SSMClient) => void;

let clientHook: ClientHook | undefined;
// Bumped to rebuild every function's dependencies on their next use.
let generation = 0;

/** Installs the client hook and drops the built dependencies. */
export function setClientHook(hook: ClientHook | undefined): void {
  clientHook = hook;
  generation += 1;
}

/** Forgets the built dependencies (the environment changed). */
export function resetDependencies(): void {
  generation += 1;
}

const clock: Clock = { now: () => new Date() };

function client<T extends object>(c: T): T {
  // Every SDK v3 client has the same middleware stack shape; the hook only
  // adds middleware, so any client can pass for an SSMClient here.
  clientHook?.(c as unknown as SSMClient);
  return tracer.captureAWSv3Client(c as never) as T;
}

/** What every function's wiring is built from: the configuration and the SDK options. */
export interface Wiring {
  config: Config;
  /** Passes a new SDK client through the hook and the tracer. */
  client: <T extends object>(c: T) => T;
  options: { maxAttempts: number };
  /** The DynamoDB client the base dependencies already hold. */
  dynamo: DynamoDBClient;
}

/**
 * The composition root of one function: the dependencies every function
 * has (the run mode switch, the bus, its queues, its idempotency records)
 * and the ports it names, built once per function instance, on first use,
 * from the environment (so a cold start reads the configuration once and a
 * bad value fails loudly). Each function names only the ports it uses, so
 * its bundle carries only their SDK clients (EC2's alone is a megabyte).
 *
 * @example
 * ```ts
 * const dependencies = wire((w) => ({ incidents: incidentStore(w) }));
 * const { incidents, publisher } = dependencies();
 * ```
 */
export function wire<P extends object>(
  ports: (wiring: Wiring) => P
): () => BaseDependencies & P {
  let built: { generation: number; deps: BaseDependencies & P } | undefined;
  return () => {
    if (built?.generation !== generation) {
      const base = buildBase(loadConfig(process.env));
      built = { generation, deps: { ...base, ...ports(base.wiring) } };
    }
    return built.deps;
  };
}

export type BaseDependencies = ReturnType<typeof buildBase>;

function buildBase(config: Config) {
  // Retries are the adapters' and the queues' business: an SDK retry of a
  // non-idempotent call (SendCommand) would run the prune twice.
  const options = { maxAttempts: config.sdkMaxAttempts };
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
    requeue(functionName: string) {
      return new SqsRequeue(
        sqs,
        required(urlFor('QUEUE', functionName), 'PULLMEDIC_QUEUE_URL')
      );
    },
    /**
     * The function's idempotency records, in the pullmedic table under
     * IDEMPOTENCY#<function>: a redelivered event gets the decision taken
     * the first time, emitted again, instead of a second decision.
     */
    idempotencyStore() {
      return new DynamoDBPersistenceLayer({
        tableName: required(config.tableName, 'PULLMEDIC_TABLE_NAME'),
        keyAttr: 'pk',
        expiryAttr: 'expiresAt',
        awsSdkV3Client: dynamo,
      });
    },
    deadLetters(functionName: string) {
      return new SqsDeadLetters(
        sqs,
        required(urlFor('DLQ', functionName), 'PULLMEDIC_DLQ_URL')
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

/**
 * A queue URL: PULLMEDIC_<KIND>_URL in Lambda (one function per process);
 * the local runtime, which runs every function in one process, sets
 * PULLMEDIC_<KIND>_URL_<FUNCTION> for each.
 */
const urlFor = (kind: 'QUEUE' | 'DLQ', functionName: string): string =>
  process.env[
    `PULLMEDIC_${kind}_URL_${functionName.toUpperCase().replace(/-/g, '_')}`
  ] ??
  process.env[`PULLMEDIC_${kind}_URL`] ??
  '';
