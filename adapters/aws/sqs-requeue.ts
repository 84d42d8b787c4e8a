import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { AwsCallError } from '../../core/errors.ts';

/** SQS delays a message by at most 15 minutes. */
export const MAX_DELAY_SECONDS = 900;

/**
 * Puts a message back on the function's own queue to be looked at again
 * after a delay, counting the looks in a message attribute.
 *
 * @example
 * ```ts
 * await new SqsRequeue(sqs, queueUrl).send(record.body, 300, 2);
 * ```
 */
export class SqsRequeue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
  }

  async send(body: string, delaySeconds: number, looks: number): Promise<void> {
    try {
      await this.#client.send(
        new SendMessageCommand({
          QueueUrl: this.#queueUrl,
          MessageBody: body,
          DelaySeconds: Math.max(
            0,
            Math.min(MAX_DELAY_SECONDS, Math.round(delaySeconds))
          ),
          MessageAttributes: {
            looks: { DataType: 'Number', StringValue: String(looks) },
          },
        })
      );
    } catch (err) {
      throw new AwsCallError('requeueing the event', { cause: err });
    }
  }
}
