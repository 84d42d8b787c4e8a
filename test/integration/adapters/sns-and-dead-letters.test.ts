import {
  CreateTopicCommand,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsNotifier } from '../../../adapters/aws/sns-notifier.ts';
import { SqsDeadLetters } from '../../../adapters/aws/sqs-dead-letters.ts';
import { renderNotification } from '../../../core/notification.ts';
import { DETAIL_TYPES } from '../../../events/detail-types.ts';
import { queueWithArn } from '../../helpers/aws.ts';
import { startTestAws } from '../../helpers/moto.ts';

describe('Class: SnsNotifier and SqsDeadLetters (against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let sqs: SQSClient;

  beforeAll(async () => {
    aws = await startTestAws();
    sqs = new SQSClient(aws.clientConfig);
  });
  afterAll(async () => {
    await aws.stop();
  });

  const queue = (name: string) => queueWithArn(sqs, name);

  it('delivers the Chatbot notification as the default body, with filterable attributes', async () => {
    // Prepare
    const sns = new SNSClient(aws.clientConfig);
    const topicArn = (
      await sns.send(new CreateTopicCommand({ Name: 'oncall' }))
    ).TopicArn as string;
    const copy = await queue('oncall-copy');
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: copy.arn,
      })
    );
    const notification = renderNotification(DETAIL_TYPES.incidentEscalated, {
      cluster: 'prod',
      node: { name: 'ip-10-0-1-149.ec2.internal' },
      dryRun: false,
      incidentId: 'prod/ip-10-0-1-149.ec2.internal/20261120T094059Z',
      reason: 'the prune command ended Failed',
      nextSteps: ['Look at the node'],
    });

    // Act
    await new SnsNotifier(sns, topicArn).publish(notification);

    // Assess
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: copy.url })
    );
    const envelope = JSON.parse(out.Messages?.[0]?.Body as string);
    const chatbot = JSON.parse(envelope.Message);
    expect(chatbot.version).toBe('1.0');
    expect(chatbot.source).toBe('custom');
    expect(chatbot.metadata.threadId).toBe(
      'prod/ip-10-0-1-149.ec2.internal/20261120T094059Z'
    );
    expect(envelope.MessageAttributes.severity).toEqual({
      Type: 'String',
      Value: 'critical',
    });
    expect(envelope.MessageAttributes.cluster.Value).toBe('prod');
    expect(envelope.Subject).toBe(notification.subject);
  });

  it('keeps a dead letter whole, with the reason and who refused it', async () => {
    // Prepare
    const dlq = await queue('classify-dlq');
    const body = '{"detail": {"node": "ip-10-0-1-149; rm -rf /"}}';

    // Act
    await new SqsDeadLetters(sqs, dlq.url).send(
      body,
      'detail.node.name: not a DNS subdomain',
      'classify'
    );

    // Assess
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlq.url,
        MessageAttributeNames: ['All'],
      })
    );
    const message = out.Messages?.[0];
    expect(message?.Body).toBe(body);
    expect(message?.MessageAttributes?.reason?.StringValue).toBe(
      'detail.node.name: not a DNS subdomain'
    );
    expect(message?.MessageAttributes?.origin?.StringValue).toBe('classify');
  });
});
