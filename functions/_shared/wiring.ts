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
let cached: ReturnType<typeof build> | undefined;

/** Installs the client hook and drops the built dependencies. */
export function setClientHook(hook: ClientHook | undefined): void {
  clientHook = hook;
  cached = undefined;
}

/** Forgets the built dependencies (the environment changed). */
export function resetDependencies(): void {
  cached = undefined;
}

const clock: Clock = { now: () => new Date() };

function client<T extends object>(c: T): T {
  // Every SDK v3 client has the same middleware stack shape; the hook only
  // adds middleware, so any client can pass for an SSMClient here.
  clientHook?.(c as unknown as SSMClient);
  return tracer.captureAWSv3Client(c as never) as T;
}

/**
 * The composition root: SDK clients → adapters, built once per function
 * instance from the environment, on first use (so a cold start reads the
 * configuration once and a bad value fails loudly).
 *
 * @example
 * ```ts
 * const { incidents, commands } = dependencies();
 * ```
 */
export function dependencies() {
  cached ??= build(loadConfig(process.env));
  return cached;
}

function build(config: Config) {
  // Retries are the adapters' and the queues' business: an SDK retry of a
  // non-idempotent call (SendCommand) would run the prune twice.
  const options = {
    maxAttempts: Number(process.env.PULLMEDIC_SDK_MAX_ATTEMPTS ?? 3),
  };
  const ssm = client(new SSMClient(options));
  const ec2 = client(new EC2Client(options));
  const eks = client(new EKSClient(options));
  const sqs = client(new SQSClient(options));
  const dynamo = client(new DynamoDBClient(options));
  const documents = DynamoDBDocumentClient.from(dynamo, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const lazyStore = () =>
    new DynamoDbIncidentStore(
      documents,
      required(config.tableName, 'PULLMEDIC_TABLE_NAME'),
      config.policy.incidentTtlSeconds,
      () => clock.now()
    );
  const store = once(lazyStore);
  const commands = once(
    () =>
      new SsmNodeCommands(
        client(new SSMClient({ ...options, maxAttempts: 1 })),
        required(config.pruneDocument, 'PULLMEDIC_PRUNE_DOCUMENT'),
        config.commandTimeoutSeconds
      )
  );
  const notifier = once(
    () =>
      new SnsNotifier(
        client(new SNSClient(options)),
        required(config.topicArn, 'PULLMEDIC_TOPIC_ARN')
      )
  );
  return {
    config,
    busName: config.busName,
    clock,
    policy: config.policy,
    get incidents() {
      return store();
    },
    get locks() {
      return store();
    },
    get notices() {
      return store();
    },
    control: new SsmControlSwitch(
      ssm,
      config.controlParameter,
      config.defaultMode,
      30,
      () => clock.now()
    ),
    nodes: new Ec2NodeDirectory(ec2, eks),
    get commands() {
      return commands();
    },
    launchTemplates: new Ec2LaunchTemplates(ec2),
    rollouts: new AwsRollouts(
      eks,
      client(new AutoScalingClient(options)),
      config.minHealthyPercentage
    ),
    publisher: new EventBridgePublisher(
      client(new EventBridgeClient(options)),
      config.busName,
      3
    ),
    get notifier() {
      return notifier();
    },
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

const once = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
};
