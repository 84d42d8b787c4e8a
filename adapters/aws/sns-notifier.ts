import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { AwsCallError } from '../../core/errors.ts';
import type { Notification, Notifier } from '../../core/ports.ts';

/**
 * Publishes a notification to the on-call topic with one body per
 * protocol: the AWS Chatbot custom notification as the default (Chatbot
 * drops free-form text), plain text for e-mail, and message attributes
 * subscribers can filter on.
 *
 * @example
 * ```ts
 * await new SnsNotifier(sns, topicArn).publish(renderNotification(type, detail));
 * ```
 */
export class SnsNotifier implements Notifier {
  readonly #client: SNSClient;
  readonly #topicArn: string;

  constructor(client: SNSClient, topicArn: string) {
    this.#client = client;
    this.#topicArn = topicArn;
  }

  async publish(notification: Notification): Promise<string> {
    try {
      const out = await this.#client.send(
        new PublishCommand({
          TopicArn: this.#topicArn,
          Subject: notification.subject,
          MessageStructure: 'json',
          Message: JSON.stringify({
            default: JSON.stringify(notification.chatbot),
            email: notification.text,
            'email-json': JSON.stringify(notification.chatbot),
            sms: notification.subject,
          }),
          MessageAttributes: Object.fromEntries(
            Object.entries(notification.attributes).map(([k, v]) => [
              k,
              { DataType: 'String', StringValue: v },
            ])
          ),
        })
      );
      return out.MessageId ?? '';
    } catch (err) {
      throw new AwsCallError('publishing the notification', { cause: err });
    }
  }
}
