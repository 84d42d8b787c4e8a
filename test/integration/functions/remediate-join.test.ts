import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTable,
  keptDecisionRecords,
  lambdaContext,
  observeCommand,
  queueWithArn,
  receiveAll,
  receivedRecord,
  sqsRecord,
} from '../../helpers/aws.ts';
import {
  aBackOffDetail,
  aClassifiedDetail,
  CLUSTER,
  NODE_NAME,
} from '../../helpers/fixtures.ts';
import { startTestAws } from '../../helpers/moto.ts';

const CONTEXT = lambdaContext('remediate');

/** The classify function's output, as the remediate queue delivers it. */
const classifiedEnvelope = (id: string, detail: object) =>
  JSON.stringify({
    version: '0',
    id,
    'detail-type': 'Image Pull Failure Classified',
    source: 'pullmedic',
    time: '2026-11-20T09:41:00Z',
    resources: [],
    detail,
  });

const backOff = aBackOffDetail();

describe('Function: remediate handler, when a BackOff overtakes its Failed event (against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let sqs: SQSClient;
  let ownQueue: string;
  let documents: DynamoDBDocumentClient;

  beforeAll(async () => {
    aws = await startTestAws();
    sqs = new SQSClient(aws.clientConfig);
    ownQueue = (await queueWithArn(sqs, 'remediate')).url;
    const dlq = (await queueWithArn(sqs, 'remediate-dlq')).url;
    documents = DynamoDBDocumentClient.from(
      await createTable(aws.clientConfig, 'pullmedic')
    );
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: aws.endpoint,
      PULLMEDIC_BUS_NAME: 'default',
      PULLMEDIC_TABLE_NAME: 'pullmedic',
      PULLMEDIC_PRUNE_DOCUMENT: 'pullmedic-test-prune-containerd',
      PULLMEDIC_DLQ_URL: dlq,
      PULLMEDIC_QUEUE_URL: ownQueue,
      PULLMEDIC_LOOK_AGAIN_SECONDS: '0',
      PULLMEDIC_LOOK_AGAIN_TIMES: '2',
      PULLMEDIC_SDK_MAX_ATTEMPTS: '1',
    });
  });
  afterAll(async () => {
    await aws.stop();
  });

  it('puts the BackOff back on its own queue, then joins it to the incident the Failed event opened', async () => {
    // Prepare
    const { handler } = await import('../../../functions/remediate.ts');
    const first: SQSEvent = {
      Records: [
        sqsRecord('m-backoff', classifiedEnvelope('ev-backoff', backOff)),
      ],
    };

    // Act: the BackOff first, with no incident yet; then the Failed event;
    // then the BackOff as its own queue hands it back.
    const early = await handler(first, CONTEXT);
    const requeued = await receiveAll(sqs, ownQueue);
    const failed = await handler(
      {
        Records: [
          sqsRecord(
            'm-failed',
            classifiedEnvelope('ev-failed', aClassifiedDetail())
          ),
        ],
      },
      CONTEXT
    );
    const again = await handler(
      {
        Records: requeued.map(receivedRecord),
      },
      CONTEXT
    );
    const incident = await documents.send(
      new GetCommand({
        TableName: 'pullmedic',
        Key: { pk: `INCIDENT#live#${CLUSTER}#${NODE_NAME}` },
      })
    );

    // Assess
    expect([early, failed, again]).toEqual([
      { batchItemFailures: [] },
      { batchItemFailures: [] },
      { batchItemFailures: [] },
    ]);
    expect(requeued).toHaveLength(1);
    expect(requeued[0]?.MessageAttributes?.looks?.StringValue).toBe('1');
    expect(JSON.parse(requeued[0]?.Body as string).id).toBe('ev-backoff');
    const timeline = incident.Item?.record.timeline as {
      step: string;
      eventId?: string;
    }[];
    expect(timeline.map((t) => [t.step, t.eventId])).toEqual([
      ['classified', 'ev-failed'],
      ['prune-requested', 'ev-failed'],
      ['joined', 'ev-backoff'],
    ]);
    expect(await receiveAll(sqs, ownQueue)).toEqual([]);
  });

  it('lets a BackOff go after its last look, without opening an incident', async () => {
    // Prepare
    const { handler } = await import('../../../functions/remediate.ts');
    const elsewhere = {
      ...backOff,
      node: { name: 'ip-10-0-9-9.ec2.internal' },
    };
    const record = sqsRecord(
      'm-last',
      classifiedEnvelope('ev-last', elsewhere),
      '2'
    );

    // Act
    const response = await handler(
      {
        Records: [record],
      },
      CONTEXT
    );
    const incident = await documents.send(
      new GetCommand({
        TableName: 'pullmedic',
        Key: { pk: `INCIDENT#live#${CLUSTER}#ip-10-0-9-9.ec2.internal` },
      })
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(incident.Item).toBeUndefined();
    expect(await receiveAll(sqs, ownQueue)).toEqual([]);
  });

  it('keeps no decision record: a redelivery decides again from the incident', async () => {
    // Prepare: remediate only reads the incident and emits, and its claims
    // make deciding again safe, so it spares the idempotency writes.
    const { handler } = await import('../../../functions/remediate.ts');

    // Act
    const response = await handler(
      {
        Records: [
          sqsRecord(
            'm-unkept',
            classifiedEnvelope('ev-unkept', {
              ...backOff,
              node: { name: 'ip-10-0-9-8.ec2.internal' },
            }),
            '2'
          ),
        ],
      },
      CONTEXT
    );
    const records = await keptDecisionRecords(documents);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(records).toEqual([]);
  });

  it("reads the node's incident once for a batch of its BackOffs, and joins each", async () => {
    // Prepare: the incident the first test opened on NODE_NAME is open.
    const reads: unknown[] = [];
    const handler = (
      await import('../../../functions/remediate.ts')
    ).definition.handler({
      client: (client) =>
        observeCommand(client, 'GetItemCommand', (input) => reads.push(input)),
    });
    const ids = ['ev-batch-1', 'ev-batch-2', 'ev-batch-3', 'ev-batch-4'];

    // Act
    const response = await handler(
      {
        Records: ids.map((id) =>
          sqsRecord(`m-${id}`, classifiedEnvelope(id, backOff))
        ),
      },
      CONTEXT
    );
    const incident = await documents.send(
      new GetCommand({
        TableName: 'pullmedic',
        Key: { pk: `INCIDENT#live#${CLUSTER}#${NODE_NAME}` },
      })
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(reads).toHaveLength(1);
    const joined = (
      (incident.Item?.record.timeline ?? []) as {
        step: string;
        eventId?: string;
      }[]
    )
      .filter((t) => t.step === 'joined')
      .map((t) => t.eventId);
    expect(joined).toEqual(expect.arrayContaining(ids));
  });
});
