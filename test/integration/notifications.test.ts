import {
  CreateTopicCommand,
  type PublishCommandInput,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SnsNotifier } from '../../adapters/aws/sns-notifier.ts';
import { DETAIL_TYPES } from '../../events/detail-types.ts';
import { observeCommand, queueWithArn, receiveAll } from '../helpers/aws.ts';
import { renderUnchecked } from '../helpers/bus.ts';
import { startTestAws } from '../helpers/moto.ts';
import {
  HOSTILE,
  INCIDENT,
  other,
  steps,
} from '../helpers/notification-steps.ts';

/**
 * AWS Chatbot's custom notification, as its documentation describes it:
 * Chatbot drops a message that does not have this shape.
 */
const ChatbotCustomNotification = z
  .object({
    version: z.literal('1.0'),
    source: z.literal('custom'),
    id: z.string().optional(),
    content: z
      .object({
        textType: z.literal('client-markdown').optional(),
        title: z.string().min(1).max(250),
        description: z.string().max(8000).optional(),
        nextSteps: z.array(z.string()).max(5).optional(),
        keywords: z.array(z.string()).max(5).optional(),
      })
      .strict(),
    metadata: z
      .object({
        threadId: z.string().optional(),
        summary: z.string().optional(),
        eventType: z.string().optional(),
        relatedResources: z.array(z.string()).optional(),
        additionalContext: z.record(z.string(), z.string()).optional(),
        enableCustomActions: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

describe('Feature: on-call notifications through SNS (against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  const published: PublishCommandInput[] = [];
  let copies: {
    body: Record<string, unknown>;
    envelope: Record<string, unknown>;
  }[] = [];

  beforeAll(async () => {
    aws = await startTestAws();
    const sns = new SNSClient(aws.clientConfig);
    const sqs = new SQSClient(aws.clientConfig);
    // Observes what is published (the e-mail body is not in the SQS copy);
    // the call itself goes to moto.
    observeCommand(sns, 'PublishCommand', (input) =>
      published.push(input as PublishCommandInput)
    );
    const topicArn = (
      await sns.send(new CreateTopicCommand({ Name: 'oncall' }))
    ).TopicArn as string;
    const { url, arn } = await queueWithArn(sqs, 'oncall-copy');
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: arn,
      })
    );
    const notifier = new SnsNotifier(sns, topicArn);
    for (const [type, detail] of [...steps, other]) {
      await notifier.publish(renderUnchecked(type, detail));
    }
    for (const m of await receiveAll(sqs, url)) {
      const envelope = JSON.parse(m.Body as string);
      copies.push({ envelope, body: JSON.parse(envelope.Message) });
    }
    copies = copies.sort(
      (a, b) =>
        published.findIndex((p) => p.Subject === a.envelope.Subject) -
        published.findIndex((p) => p.Subject === b.envelope.Subject)
    );
  });
  afterAll(async () => {
    await aws.stop();
  });

  it('delivers every step as a Chatbot custom notification that matches its schema', () => {
    // Assess
    expect(copies).toHaveLength(steps.length + 1);
    for (const { body } of copies) {
      expect(ChatbotCustomNotification.safeParse(body).error).toBeUndefined();
    }
  });

  it('threads every step of one incident under the incident id', () => {
    // Assess
    const threads = copies
      .filter(
        ({ body }) =>
          (body.metadata as { eventType: string }).eventType !==
          DETAIL_TYPES.imagePullFailureClassified
      )
      .map(({ body }) => (body.metadata as { threadId: string }).threadId);
    expect(new Set(threads)).toEqual(new Set([INCIDENT]));
  });

  it('carries filterable attributes: severity, cluster, class, node group', () => {
    // Assess
    const attributes = copies.map(({ envelope }) =>
      Object.fromEntries(
        Object.entries(
          envelope.MessageAttributes as Record<string, { Value: string }>
        ).map(([k, v]) => [k, v.Value])
      )
    );
    expect(attributes[0]).toMatchObject({
      severity: 'warning',
      cluster: 'prod',
      class: 'disk_full',
    });
    expect(attributes[3]).toMatchObject({ severity: 'info', nodegroup: 'gpu' });
    expect(attributes.at(-1)).toMatchObject({
      severity: 'warning',
      class: 'auth',
    });
  });

  it('escapes a hostile image name for Slack and keeps it readable in the e-mail', () => {
    // Assess
    const content = copies[0]?.body.content as
      | { description: string }
      | undefined;
    const slack = content?.description ?? '';
    expect(slack).not.toContain('<!channel>');
    expect(slack).toContain(
      'evil.io/x&lt;!channel&gt;\\*bold\\*\\_it\\_\\~s\\~\\`c\\`&amp;amp:1'
    );
    const email = JSON.parse(published[0]?.Message as string).email as string;
    expect(email).toContain(`Image: \`${HOSTILE}\``);
    expect(published[0]?.MessageStructure).toBe('json');
  });

  it('writes an e-mail body that says what happened and what comes next', () => {
    // Assess
    const bodies = published.map(
      (p) => JSON.parse(p.Message as string).email as string
    );
    expect(bodies[2]).toContain('Disk: 14.6 GiB used before, 4.1 GiB after');
    expect(bodies[2]).toContain(
      'pullmedic rolls the node group to a bigger volume next.'
    );
    expect(bodies[3]).toContain('Volume: /dev/xvda 20 GiB → 100 GiB');
    expect(bodies[3]).toContain('Undo: `aws eks update-nodegroup-version');
    expect(bodies[4]).toContain('Time to recovery: 1m 35s');
    expect(bodies[5]).toContain(
      "Check the pull secret or the node role's ECR permissions"
    );
    expect(bodies.every((b) => b.includes(`Incident: `))).toBe(true);
  });
});
