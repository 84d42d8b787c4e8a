import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ListQueuesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** A stage's dead-letter queue, and the queue its letters came from. */
export interface DeadLetterQueue {
  name: string;
  url: string;
  /** The function whose queue it backs (`classify`), or the rule (`forward-ssm`). */
  owner: string;
  /** Where a redrive sends its letters; undefined when nothing can take them again. */
  sourceUrl?: string;
  /** Why it cannot be redriven, when it cannot. */
  noRedrive?: string;
}

/** One dead letter, as on-call reads it. */
export interface DeadLetterView {
  queue: string;
  owner: string;
  messageId: string;
  /** When it was first sent to a queue (SQS's SentTimestamp). */
  sentAt?: string;
  /** How many times it was received (SQS's ApproximateReceiveCount). */
  receiveCount: number;
  reason: string;
  /** The function that dead-lettered it, when one did. */
  origin?: string;
  /** The event's detail-type and id, when the body is an EventBridge event. */
  detailType?: string;
  eventId?: string;
  /** The handler cut the body to what SQS carries: it cannot be redriven. */
  truncated: boolean;
  body: string;
}

/**
 * Why a letter is here, from what put it here: the handler's `reason`
 * attribute; EventBridge's delivery failure attributes (ERROR_CODE,
 * ERROR_MESSAGE) when a rule could not deliver to the queue; none when SQS
 * moved it after maxReceiveCount deliveries (a Lambda that timed out or
 * crashed every time).
 */
export function reasonOf(
  attributes: Record<string, MessageAttributeValue> | undefined
): string {
  const text = (name: string) => attributes?.[name]?.StringValue;
  const reason = text('reason');
  if (reason) return reason;
  const code = text('ERROR_CODE');
  if (code) {
    const message = text('ERROR_MESSAGE');
    return `EventBridge could not deliver it to the queue: ${code}${message ? `: ${message}` : ''}`;
  }
  return 'SQS moved it after its last allowed delivery; the function never finished with it (a timeout or a crash: see the function logs)';
}

/** The view of one received message. */
export function viewOf(queue: DeadLetterQueue, m: Message): DeadLetterView {
  const body = m.Body ?? '';
  let envelope: { 'detail-type'?: unknown; id?: unknown } = {};
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null) envelope = parsed;
  } catch {
    // Not JSON: the letter is shown as it is.
  }
  const sent = Number(m.Attributes?.SentTimestamp);
  const origin = m.MessageAttributes?.origin?.StringValue;
  return {
    queue: queue.name,
    owner: queue.owner,
    messageId: m.MessageId ?? '',
    ...(Number.isFinite(sent) ? { sentAt: new Date(sent).toISOString() } : {}),
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
    reason: reasonOf(m.MessageAttributes),
    ...(origin ? { origin } : {}),
    ...(typeof envelope['detail-type'] === 'string'
      ? { detailType: envelope['detail-type'] }
      : {}),
    ...(typeof envelope.id === 'string' ? { eventId: envelope.id } : {}),
    truncated: m.MessageAttributes?.truncated?.StringValue === 'true',
    body,
  };
}

/** The rule-target DLQs whose letters no queue can take again. */
const NOT_REDRIVABLE: Record<string, string> = {
  'forward-ssm':
    'its letters are SSM status events, which only SSM may put on a bus; the reconciler reads each command result at its deadline anyway',
  forwarder:
    'its letters are lines the forwarder could not put on the bus; fix them and send them again through the forwarder',
};

/**
 * The stage's dead-letter queues (`pullmedic-<stage>-…-dlq`), each with
 * the queue a redrive sends its letters to.
 *
 * @example
 * ```ts
 * const queues = await deadLetterQueues(sqs, 'prod');
 * ```
 */
export async function deadLetterQueues(
  sqs: SQSClient,
  stage: string
): Promise<DeadLetterQueue[]> {
  const prefix = `pullmedic-${stage}-`;
  const urls: string[] = [];
  let NextToken: string | undefined;
  do {
    const out = await sqs.send(
      new ListQueuesCommand({
        QueueNamePrefix: prefix,
        MaxResults: 1000,
        ...(NextToken ? { NextToken } : {}),
      })
    );
    urls.push(...(out.QueueUrls ?? []));
    NextToken = out.NextToken;
  } while (NextToken);
  const byName = new Map(urls.map((u) => [u.split('/').pop() ?? u, u]));
  return [...byName]
    .filter(([name]) => name.endsWith('-dlq'))
    .map(([name, url]) => {
      const owner = name.slice(prefix.length, -'-dlq'.length);
      const sourceUrl = byName.get(`${prefix}${owner}`);
      const noRedrive =
        NOT_REDRIVABLE[owner] ??
        (sourceUrl ? undefined : `there is no queue ${prefix}${owner}`);
      return {
        name,
        url,
        owner,
        ...(sourceUrl && !NOT_REDRIVABLE[owner] ? { sourceUrl } : {}),
        ...(noRedrive ? { noRedrive } : {}),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** How long a listed letter stays hidden while the listing goes on. */
const LISTING_SECONDS = 30;

/**
 * Up to `count` letters, hidden for the listing's time, with their
 * attributes and when they were sent and how often received.
 */
const receiveLetters = (sqs: SQSClient, url: string, count: number) =>
  sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: count,
      VisibilityTimeout: LISTING_SECONDS,
      WaitTimeSeconds: 0,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
    })
  );

/**
 * Every letter of a queue (up to `max`), read without taking it: each is
 * hidden while the listing goes on (so none is read twice), then made
 * visible again.
 */
export async function listDeadLetters(
  sqs: SQSClient,
  queue: DeadLetterQueue,
  max = 1000
): Promise<DeadLetterView[]> {
  const seen: Message[] = [];
  try {
    while (seen.length < max) {
      const out = await receiveLetters(
        sqs,
        queue.url,
        Math.min(10, max - seen.length)
      );
      if (!out.Messages?.length) break;
      seen.push(...out.Messages);
    }
  } finally {
    await visibleAgain(sqs, queue.url, seen);
  }
  return seen.map((m) => viewOf(queue, m));
}

async function visibleAgain(sqs: SQSClient, url: string, messages: Message[]) {
  for (let i = 0; i < messages.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: messages.slice(i, i + 10).map((m, j) => ({
          Id: String(j),
          ReceiptHandle: m.ReceiptHandle as string,
          VisibilityTimeout: 0,
        })),
      })
    );
  }
}

/** What a redrive did with a queue's letters. */
export interface RedriveResult {
  queue: string;
  moved: DeadLetterView[];
  /** Letters left where they were (not picked, or the queue cannot be redriven). */
  kept: number;
}

/**
 * Sends a queue's letters back to the queue they came from, then deletes
 * them here: each is sent before it is deleted, so a failure half way
 * leaves a letter in both places (the functions take a repeat as a
 * redelivery), never in neither. The dead-letter attributes (reason,
 * origin) stay behind; the event goes back as it was. `pick` chooses
 * letters (all by default); a letter whose body was cut stays.
 *
 * @example
 * ```ts
 * const result = await redrive(sqs, queue, (l) => l.messageId === id);
 * ```
 */
export async function redrive(
  sqs: SQSClient,
  queue: DeadLetterQueue,
  pick: (letter: DeadLetterView) => boolean = () => true,
  onMoved: (letter: DeadLetterView) => void = () => {}
): Promise<RedriveResult> {
  if (!queue.sourceUrl) {
    throw new Error(`${queue.name} cannot be redriven: ${queue.noRedrive}`);
  }
  const moved: DeadLetterView[] = [];
  const keep: Message[] = [];
  try {
    for (;;) {
      const out = await receiveLetters(sqs, queue.url, 10);
      if (!out.Messages?.length) break;
      const done: Message[] = [];
      for (const m of out.Messages) {
        const letter = viewOf(queue, m);
        // A cut body is no longer the event: sent back, it would only be
        // dead-lettered again as malformed.
        if (!pick(letter) || letter.truncated) {
          keep.push(m);
          continue;
        }
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: queue.sourceUrl,
            MessageBody: letter.body,
          })
        );
        done.push(m);
        moved.push(letter);
        onMoved(letter);
      }
      if (done.length) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queue.url,
            Entries: done.map((m, i) => ({
              Id: String(i),
              ReceiptHandle: m.ReceiptHandle as string,
            })),
          })
        );
      }
    }
  } finally {
    await visibleAgain(sqs, queue.url, keep);
  }
  return { queue: queue.name, moved, kept: keep.length };
}
