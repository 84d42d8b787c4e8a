import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeadLetters } from '../../core/ports.ts';

/** One message as the agent handles it. */
export interface QueueMessage {
  id: string;
  receiptHandle: string;
  body: string;
  /** How many times SQS has handed it out, this time included. */
  receiveCount: number;
}

/**
 * The agent's one queue (KP's `EventQueue`): receive with a long poll,
 * delete once handled, and dead-letter with the reason what can never be
 * handled.
 */
export interface RequestQueue {
  receive(signal: AbortSignal): Promise<QueueMessage[]>;
  delete(message: QueueMessage): Promise<void>;
  /**
   * Keeps the message in the dead-letter queue with the reason, then
   * deletes it. False when no dead-letter queue is set: the message stays,
   * and the queue's redrive policy moves it after maxReceiveCount.
   */
  deadLetter(message: QueueMessage, reason: string): Promise<boolean>;
}

/**
 * The agent's SQS queue, fed by the rule on `Pod Restart Requested`.
 *
 * @example
 * ```ts
 * const queue = new SqsRequestQueue(new SQSClient({}), queueUrl, {
 *   waitSeconds: 20, deadLetters: new SqsDeadLetters(sqs, dlqUrl),
 * });
 * for (const m of await queue.receive(signal)) …
 * ```
 */
export class SqsRequestQueue implements RequestQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #waitSeconds: number;
  readonly #deadLetters: DeadLetters | undefined;

  constructor(
    client: SQSClient,
    queueUrl: string,
    options: { waitSeconds?: number; deadLetters?: DeadLetters } = {}
  ) {
    this.#client = client;
    this.#queueUrl = queueUrl;
    this.#waitSeconds = options.waitSeconds ?? 20;
    this.#deadLetters = options.deadLetters;
  }

  async receive(signal: AbortSignal): Promise<QueueMessage[]> {
    const out = await this.#client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: this.#waitSeconds,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
      { abortSignal: signal }
    );
    return (out.Messages ?? []).map((m) => ({
      id: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? '1'),
    }));
  }

  async delete(message: QueueMessage): Promise<void> {
    await this.#client.send(
      new DeleteMessageCommand({
        QueueUrl: this.#queueUrl,
        ReceiptHandle: message.receiptHandle,
      })
    );
  }

  async deadLetter(message: QueueMessage, reason: string): Promise<boolean> {
    if (this.#deadLetters === undefined) return false;
    await this.#deadLetters.send(message.body, reason, 'pullmedic-agent');
    await this.delete(message);
    return true;
  }
}
