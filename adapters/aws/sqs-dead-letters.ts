import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { AwsCallError } from '../../core/errors.ts';
import type { DeadLetters } from '../../core/ports.ts';

/** SQS message bodies are limited to 256 KiB. */
const MAX_BODY = 250 * 1024;

/**
 * Keeps messages that cannot be processed, whole, in a dead-letter queue,
 * with the reason and the function that refused them as attributes.
 *
 * @example
 * ```ts
 * await new SqsDeadLetters(sqs, queueUrl).send(body, 'not JSON', 'classify');
 * ```
 */
export class SqsDeadLetters implements DeadLetters {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
  }

  async send(body: string, reason: string, origin: string): Promise<void> {
    try {
      await this.#client.send(
        new SendMessageCommand({
          QueueUrl: this.#queueUrl,
          MessageBody:
            body.length > MAX_BODY
              ? body.slice(0, MAX_BODY)
              : body || '(empty)',
          MessageAttributes: {
            reason: {
              DataType: 'String',
              StringValue: reason.slice(0, 1024) || 'unknown',
            },
            origin: { DataType: 'String', StringValue: origin },
            truncated: {
              DataType: 'String',
              StringValue: String(body.length > MAX_BODY),
            },
          },
        })
      );
    } catch (err) {
      throw new AwsCallError('dead-lettering a message', { cause: err });
    }
  }
}
