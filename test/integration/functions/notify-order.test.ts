import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkError } from '../../../cli/local/fault-sweep.ts';
import { DETAIL_TYPES } from '../../../events/detail-types.ts';
import type { ClientHook } from '../../../functions/_shared/wiring.ts';
import {
  createTable,
  keptDecisionRecords,
  lambdaContext,
  observeCommand,
  queueWithArn,
  receiveAll,
  sqsRecord,
} from '../../helpers/aws.ts';
import { startTestAws } from '../../helpers/moto.ts';
import { other, steps } from '../../helpers/notification-steps.ts';

/** When each step reached the bus: the prune result and the roll share a second. */
const TIMES: Record<string, string> = {
  [DETAIL_TYPES.incidentOpened]: '2026-11-20T09:41:00Z',
  [DETAIL_TYPES.nodePruneRequested]: '2026-11-20T09:41:00Z',
  [DETAIL_TYPES.nodePruneCompleted]: '2026-11-20T09:41:06Z',
  [DETAIL_TYPES.volumeRollStarted]: '2026-11-20T09:41:06Z',
  [DETAIL_TYPES.incidentResolved]: '2026-11-20T09:42:34Z',
};

const envelope = (i: number, type: string, detail: object) =>
  JSON.stringify({
    version: '0',
    id: `ev-${i}`,
    'detail-type': type,
    source: 'pullmedic',
    time: TIMES[type],
    resources: [],
    detail,
  });

describe('Function: notify handler, on a batch that holds several steps of one incident (against moto)', () => {
  let hook: ClientHook = () => {};
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let dlq: string;
  let documents: DynamoDBDocumentClient;
  const published: string[] = [];

  beforeAll(async () => {
    aws = await startTestAws();
    const sqs = new SQSClient(aws.clientConfig);
    dlq = (await queueWithArn(sqs, 'notify-dlq')).url;
    documents = DynamoDBDocumentClient.from(
      await createTable(aws.clientConfig, 'pullmedic')
    );
    const topicArn = (
      await new SNSClient(aws.clientConfig).send(
        new CreateTopicCommand({ Name: 'oncall' })
      )
    ).TopicArn as string;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: aws.endpoint,
      PULLMEDIC_BUS_NAME: 'default',
      PULLMEDIC_TABLE_NAME: 'pullmedic',
      PULLMEDIC_TOPIC_ARN: topicArn,
      PULLMEDIC_DLQ_URL: dlq,
      PULLMEDIC_SDK_MAX_ATTEMPTS: '1',
    });
    // Observes the order of the publishes; each goes on to moto.
    hook = (client) =>
      observeCommand(client, 'PublishCommand', (input) => {
        const { Message } = input as { Message: string };
        const chatbot = JSON.parse(JSON.parse(Message).default);
        published.push(chatbot.metadata.eventType);
      });
  });
  afterAll(async () => {
    await aws.stop();
  });

  it('posts the steps in the order they happened, whatever order the batch holds', async () => {
    // Prepare
    const handler = (
      await import('../../../functions/notify.ts')
    ).definition.handler({ client: hook });
    const readable = steps.map(([type, detail]): [string, object] =>
      type === DETAIL_TYPES.incidentOpened
        ? [type, { ...detail, image: 'registry.example/triton:resnet50' }]
        : [type, detail]
    );
    const records = readable
      .map(([type, detail], i) =>
        sqsRecord(`m-${i}`, envelope(i, type, detail))
      )
      .reverse();
    records.splice(2, 0, sqsRecord('m-not-json', '{"detail-type": '));
    // Well-formed for the queue, but its detail breaks the contract that
    // only the notify use case checks.
    const hostile = envelope(9, ...(steps[0] as [string, object]));
    records.splice(4, 0, sqsRecord('m-hostile', hostile));

    // Act
    const response = await handler(
      { Records: records },
      lambdaContext('notify')
    );
    const deadLetters = await receiveAll(new SQSClient(aws.clientConfig), dlq);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(published).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.nodePruneRequested,
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.volumeRollStarted,
      DETAIL_TYPES.incidentResolved,
    ]);
    const reasons = Object.fromEntries(
      deadLetters.map((m) => [
        m.Body,
        m.MessageAttributes?.reason?.StringValue ?? '',
      ])
    );
    expect(Object.keys(reasons).sort()).toEqual(
      ['{"detail-type": ', hostile].sort()
    );
    expect(reasons[hostile]).toMatch(
      /^Incident Opened does not match its contract: image: /
    );
  });

  it('posts a failure the kubelet keeps reporting once, and counts the repeats', async () => {
    // Prepare
    const handler = (
      await import('../../../functions/notify.ts')
    ).definition.handler({ client: hook });
    published.length = 0;
    const [, auth] = other;
    const records = [1, 2, 3].map((n) =>
      sqsRecord(
        `m-auth-${n}`,
        JSON.stringify({
          version: '0',
          id: `ev-auth-${n}`,
          'detail-type': DETAIL_TYPES.imagePullFailureClassified,
          source: 'pullmedic',
          time: `2026-11-20T09:4${n}:00Z`,
          resources: [],
          detail: { ...auth, image: 'registry.example/private:1' },
        })
      )
    );

    // Act
    const response = await handler(
      { Records: records },
      lambdaContext('notify')
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(published).toEqual([DETAIL_TYPES.imagePullFailureClassified]);
  });

  it('posts a step once when the save of its decision fails after the post', async () => {
    // Prepare: the first UpdateItem (Powertools marking the decision
    // complete, after the SNS publish) is throttled once, as AWS may.
    published.length = 0;
    let throttled = false;
    const handler = (
      await import('../../../functions/notify.ts')
    ).definition.handler({
      client: (client) => {
        hook(client);
        (client as SQSClient).middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'UpdateItemCommand' && !throttled) {
              throttled = true;
              throw sdkError('throttled', 'dynamodb:UpdateItem');
            }
            return next(args);
          },
          { step: 'initialize', name: 'throttleOnce' }
        );
      },
    });
    const [type, detail] = steps[0] as [string, object];
    const record = sqsRecord(
      'm-save-fails',
      envelope(20, type, { ...detail, image: 'registry.example/triton:1' })
    );

    // Act
    const response = await handler(
      { Records: [record] },
      lambdaContext('notify')
    );

    // Assess: the record succeeds (a redelivery would post it again).
    expect(throttled).toBe(true);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(published).toEqual([DETAIL_TYPES.incidentOpened]);
  });

  it("bounds each decision's in-progress record by the invocation's time left", async () => {
    // Prepare: a Lambda timed out mid-decision must not hold its event
    // "in progress" for the idempotency record's whole hour.
    published.length = 0;
    const handler = (
      await import('../../../functions/notify.ts')
    ).definition.handler({ client: hook });
    const [type, detail] = steps[0] as [string, object];
    const record = sqsRecord(
      'm-bounded',
      envelope(30, type, { ...detail, image: 'registry.example/triton:2' })
    );
    const before = Date.now();

    // Act
    await handler({ Records: [record] }, lambdaContext('notify'));
    const records = await keptDecisionRecords(documents, 'IDEMPOTENCY#notify');

    // Assess: the handler's context says 30 s are left.
    const bounded = records.filter(
      (item) =>
        item.in_progress_expiration >= before + 30_000 &&
        item.in_progress_expiration <= Date.now() + 30_000
    );
    expect(bounded).toHaveLength(1);
  });
});
