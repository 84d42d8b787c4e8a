import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  type DynamoDBDocumentClient,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Context, SQSRecord } from 'aws-lambda';

import { createPullmedicTable } from '../../adapters/aws/dynamodb-table.ts';
import type { IncidentKey, IncidentStore } from '../../core/ports.ts';
import type { NodeRef } from '../../events/schemas.ts';
import type { startTestAws } from './moto.ts';

/** The client settings of a test's moto (endpoint, region, credentials). */
type ClientConfig = Awaited<ReturnType<typeof startTestAws>>['clientConfig'];

/**
 * A queue and its ARN.
 *
 * @example
 * ```ts
 * const { url, arn } = await queueWithArn(sqs, 'dlq');
 * ```
 */
export async function queueWithArn(sqs: SQSClient, name: string) {
  const url = (await sqs.send(new CreateQueueCommand({ QueueName: name })))
    .QueueUrl as string;
  const arn = (
    await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['QueueArn'],
      })
    )
  ).Attributes?.QueueArn as string;
  return { url, arn };
}

/** Everything waiting in a queue, bodies parsed, attributes included. */
export async function receiveAll(
  sqs: SQSClient,
  url: string
): Promise<Message[]> {
  const all: Message[] = [];
  // The local queues hide a received message for one second only: on a
  // slow emulator a message comes back while the queue is still being
  // read. Each message counts once; a few receives that bring nothing new
  // end the reading as an empty one does.
  const seen = new Set<string>();
  for (let stale = 0; stale < 5; ) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      })
    );
    if (!out.Messages?.length) return all;
    const fresh = out.Messages.filter((m) => !seen.has(m.MessageId ?? ''));
    stale = fresh.length ? 0 : stale + 1;
    for (const m of fresh) seen.add(m.MessageId ?? '');
    all.push(...fresh);
  }
  return all;
}

/**
 * A rule on a bus (created unless it exists) whose target is a new queue:
 * what tests read to see what crossed the bus.
 *
 * @example
 * ```ts
 * const tap = await busTap(config, 'pullmedic-test', 'all', { source: ['pullmedic'] });
 * ```
 */
export async function busTap(
  config: ClientConfig,
  bus: string,
  name: string,
  pattern: object,
  options: { createBus?: boolean } = {}
) {
  const eventBridge = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  if (options.createBus ?? true) {
    await eventBridge.send(new CreateEventBusCommand({ Name: bus }));
  }
  const queue = await queueWithArn(sqs, name);
  await eventBridge.send(
    new PutRuleCommand({
      Name: name,
      EventBusName: bus,
      EventPattern: JSON.stringify(pattern),
    })
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: name,
      EventBusName: bus,
      Targets: [{ Id: name, Arn: queue.arn }],
    })
  );
  return queue;
}

/** The pullmedic table's shape: a string key `pk`. */
export async function createTable(
  config: ClientConfig,
  name: string
): Promise<DynamoDBClient> {
  const dynamo = new DynamoDBClient(config);
  await createPullmedicTable(dynamo, name);
  return dynamo;
}

/**
 * An SQS record as Lambda hands it to a function; `looks` is the attribute
 * a function sets when it puts an event back on its own queue.
 */
export const sqsRecord = (
  id: string,
  body: string,
  looks?: string
): SQSRecord => ({
  messageId: id,
  receiptHandle: id,
  body,
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: '0',
    SenderId: 'test',
    ApproximateFirstReceiveTimestamp: '0',
  },
  messageAttributes:
    looks === undefined
      ? {}
      : {
          looks: {
            dataType: 'Number',
            stringValue: looks,
            stringListValues: [],
            binaryListValues: [],
          },
        },
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:pullmedic-test',
  awsRegion: 'us-east-1',
});

/** A message received from a queue, as Lambda would hand it back. */
export const receivedRecord = (m: Message): SQSRecord =>
  sqsRecord(
    m.MessageId as string,
    m.Body as string,
    m.MessageAttributes?.looks?.StringValue
  );

/**
 * The Lambda context a handler gets: its name, a request id, and the time
 * left (Powertools idempotency reads it to expire an in-progress record).
 */
export const lambdaContext = (functionName: string): Context =>
  ({
    functionName,
    awsRequestId: `${functionName}-request`,
    getRemainingTimeInMillis: () => 30_000,
  }) as Context;

/**
 * Hands `seen` the input of every `commandName` call a client makes, then
 * lets the call go on to moto: an observer, not a fake.
 *
 * @example
 * ```ts
 * observeCommand(sns, 'PublishCommand', (input) => published.push(input));
 * ```
 */
export function observeCommand(
  client: object,
  commandName: string,
  seen: (input: unknown) => void
): void {
  // Every SDK v3 client has the same middleware stack; SQS's type stands
  // for any of them.
  (client as SQSClient).middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName) seen(args.input);
      return next(args);
    },
    { step: 'initialize', name: `observe${commandName}` }
  );
}

/**
 * A named fake for one call moto lacks or cannot fail: `answer` gets the
 * call's input and returns its output, or throws as AWS would; when it
 * returns undefined the call goes on to moto, like every other call.
 *
 * @example
 * ```ts
 * answerCommand(autoscaling, 'StartInstanceRefreshCommand', () => ({ InstanceRefreshId: 'ir-1' }));
 * ```
 */
export function answerCommand(
  client: object,
  commandName: string,
  answer: (input: unknown) => object | undefined
): void {
  (client as SQSClient).middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== commandName) return next(args);
      const output = answer(args.input);
      if (output === undefined) return next(args);
      return { response: {}, output: { $metadata: {}, ...output } } as never;
    },
    { step: 'initialize', name: `fake${commandName}` }
  );
}

/**
 * An incident as remediate leaves it once its prune is sent: opened, the
 * prune claimed and sent (`commandId` on `instanceId`), the command's
 * pointer written. Through the store's own moves, as the pipeline makes
 * them.
 *
 * @example
 * ```ts
 * await seedSentPrune(store, key, incidentId, 'cmd-ok', 'i-0abc…');
 * ```
 */
export async function seedSentPrune(
  store: IncidentStore,
  incident: {
    key: IncidentKey;
    incidentId: string;
    node: NodeRef;
    openedAt: string;
  },
  commandId: string
): Promise<void> {
  const { key, incidentId, node, openedAt } = incident;
  await store.openOrJoin(
    {
      key,
      incidentId,
      status: 'open',
      openedAt,
      node,
      class: 'disk_full',
      evidence: 'no space left on device',
      step: 'opened',
      stepBy: 'event-remediate',
      timeline: [],
    },
    openedAt
  );
  const prune = {
    intentId: 'event-remediate',
    instanceId: node.instanceId as string,
    amiFamily: 'al2023' as const,
    documentName: 'pullmedic-test-prune-containerd',
    claimedAt: openedAt,
  };
  await store.advance(key, incidentId, {
    to: 'prune-claimed',
    by: 'event-remediate',
    due: null,
    prune,
  });
  await store.advance(key, incidentId, {
    to: 'prune-sent',
    by: 'event-remediate',
    due: null,
    prune: { ...prune, commandId, sentAt: openedAt },
  });
  await store.pointCommand(key, incidentId, commandId);
}

/**
 * The decisions kept in the pullmedic table (Powertools idempotency,
 * functions/_shared/kept-decisions.ts) whose key starts with `prefix`:
 * all of them, or one function's (`IDEMPOTENCY#notify`).
 *
 * @example
 * ```ts
 * expect(await keptDecisionRecords(documents)).toEqual([]);
 * ```
 */
export async function keptDecisionRecords(
  documents: DynamoDBDocumentClient,
  prefix = 'IDEMPOTENCY#'
) {
  const out = await documents.send(
    new ScanCommand({
      TableName: 'pullmedic',
      FilterExpression: 'begins_with(pk, :prefix)',
      ExpressionAttributeValues: { ':prefix': prefix },
    })
  );
  return out.Items ?? [];
}
