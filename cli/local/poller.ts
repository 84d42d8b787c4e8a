import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { messageOf } from '../../core/errors.ts';
import type { LocalHandler } from './functions.ts';

/**
 * How long a received batch stays invisible: longer than any handler
 * takes here, so a slow batch is never delivered twice while it runs (the
 * stack gives six times the function timeout). A record that failed is made
 * visible again at once instead: the local runtime does not sit out SQS's
 * wait.
 */
const VISIBILITY_SECONDS = 120;

/** What one pass over a queue did. */
export interface PollResult {
  received: number;
  failed: string[];
  /** The handler threw for the whole batch (every record failed). */
  error?: string;
}

/**
 * Lambda's SQS event source, for one function: receives a batch from the
 * function's queue, hands it to the handler as an SQSEvent, deletes what
 * succeeded and makes what failed visible again (SQS counts the receive,
 * and moves the record to the dead-letter queue after maxReceiveCount).
 *
 * @example
 * ```ts
 * const poller = new QueuePoller(sqs, 'remediate', queue, handler, region);
 * await poller.poll();
 * ```
 */
export class QueuePoller {
  readonly #sqs: SQSClient;
  readonly #fn: string;
  readonly #queue: { url: string; arn: string };
  readonly #handler: LocalHandler;
  readonly #region: string;

  constructor(
    sqs: SQSClient,
    fn: string,
    queue: { url: string; arn: string },
    handler: LocalHandler,
    region: string
  ) {
    this.#sqs = sqs;
    this.#fn = fn;
    this.#queue = queue;
    this.#handler = handler;
    this.#region = region;
  }

  async poll(): Promise<PollResult> {
    const messages = await receive(
      this.#sqs,
      this.#queue.url,
      VISIBILITY_SECONDS
    );
    if (!messages.length) return { received: 0, failed: [] };
    const event = {
      Records: messages.map((m) => toRecord(m, this.#queue.arn, this.#region)),
    };
    let failed: string[];
    let error: string | undefined;
    try {
      const result = await this.#handler(event, lambdaContext(this.#fn));
      failed = result?.batchItemFailures?.map((f) => f.itemIdentifier) ?? [];
    } catch (err) {
      // Powertools throws when every record failed; Lambda then retries
      // the whole batch, as the runtime does here.
      error = messageOf(err);
      failed = messages.map((m) => m.MessageId as string);
    }
    const failedSet = new Set(failed);
    await remove(
      this.#sqs,
      this.#queue.url,
      messages.filter((m) => !failedSet.has(m.MessageId as string))
    );
    await this.#visibleAgain(
      messages.filter((m) => failedSet.has(m.MessageId as string))
    );
    return { received: messages.length, failed, ...(error ? { error } : {}) };
  }

  async #visibleAgain(messages: Message[]): Promise<void> {
    if (!messages.length) return;
    await this.#sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: this.#queue.url,
        Entries: messages.map((m, i) => ({
          Id: String(i),
          ReceiptHandle: m.ReceiptHandle as string,
          VisibilityTimeout: 0,
        })),
      })
    );
  }
}

/** The most messages SQS hands out in one receive. */
export const RECEIVE_MAX = 10;

/** Up to RECEIVE_MAX messages, at once (no long poll: the runtime polls in turn). */
export async function receive(
  sqs: SQSClient,
  url: string,
  visibilitySeconds = 30
): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: RECEIVE_MAX,
      WaitTimeSeconds: 0,
      VisibilityTimeout: visibilitySeconds,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    })
  );
  return out.Messages ?? [];
}

export async function remove(
  sqs: SQSClient,
  url: string,
  messages: Message[]
): Promise<void> {
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

/** Everything in a queue, taken out of it. */
export async function drainAll(
  sqs: SQSClient,
  url: string
): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const batch = await receive(sqs, url);
    if (!batch.length) return all;
    all.push(...batch);
    await remove(sqs, url, batch);
  }
}

/** How many messages a queue holds, visible and in flight. */
export async function depthOf(sqs: SQSClient, url: string): Promise<number> {
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
  return (
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessages ?? 0)
  );
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

/** A Lambda context for a local invocation of `fn`. */
export function lambdaContext(fn: string): Context {
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
