import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbIncidentStore } from '../../../adapters/aws/dynamodb-incident-store.ts';
import { PullmedicTable } from '../../../adapters/aws/dynamodb-table.ts';
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
  aKubernetesEventDetail,
  anIncident,
  aPulledEvent,
  CLUSTER,
  NODE_NAME,
} from '../../helpers/fixtures.ts';
import { startTestAws } from '../../helpers/moto.ts';

const CONTEXT = lambdaContext('resolve');
const PULLED_AT = '2026-11-20T09:42:30Z';

/** The kubelet's Pulled event as the bus delivers it; a replay marks it. */
const pulledEnvelope = (id: string, replayName?: string) =>
  JSON.stringify({
    version: '0',
    id,
    'detail-type': 'Kubernetes Event',
    source: 'pullmedic.kubernetes',
    time: PULLED_AT,
    resources: [],
    ...(replayName ? { 'replay-name': replayName } : {}),
    detail: aKubernetesEventDetail(aPulledEvent(PULLED_AT)),
  });

describe('Function: resolve handler, when a Pulled event overtakes its incident (against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let sqs: SQSClient;
  let ownQueue: string;
  let store: DynamoDbIncidentStore;
  let documents: DynamoDBDocumentClient;

  beforeAll(async () => {
    aws = await startTestAws();
    sqs = new SQSClient(aws.clientConfig);
    ownQueue = (await queueWithArn(sqs, 'resolve')).url;
    const dlq = (await queueWithArn(sqs, 'resolve-dlq')).url;
    documents = DynamoDBDocumentClient.from(
      await createTable(aws.clientConfig, 'pullmedic'),
      { marshallOptions: { removeUndefinedValues: true } }
    );
    store = new DynamoDbIncidentStore(
      new PullmedicTable(documents, 'pullmedic', 3600, () => new Date())
    );
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: aws.endpoint,
      PULLMEDIC_BUS_NAME: 'default',
      PULLMEDIC_TABLE_NAME: 'pullmedic',
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

  it('in a replay, looks again and resolves the incident once it is open', async () => {
    // Prepare
    const { handler } = await import('../../../functions/resolve.ts');
    const key = { cluster: CLUSTER, node: NODE_NAME, scope: 'replay:pm-1' };
    const incident = anIncident({
      key,
      step: 'opened',
      stepBy: 'ev-failed',
      prune: undefined,
    });

    // Act: the Pulled event first; then the replayed Failed event opens
    // the incident and sends its (dry-run) prune; then the Pulled again.
    const early = await handler(
      { Records: [sqsRecord('m-1', pulledEnvelope('ev-pulled', 'pm-1'))] },
      CONTEXT
    );
    const requeued = await receiveAll(sqs, ownQueue);
    await store.openOrJoin(incident, incident.openedAt);
    for (const to of ['prune-claimed', 'prune-sent'] as const) {
      await store.advance(key, incident.incidentId, {
        to,
        by: 'ev-failed',
        due: null,
      });
    }
    const again = await handler(
      { Records: requeued.map(receivedRecord) },
      CONTEXT
    );
    const after = await store.get(key);

    // Assess
    expect([early, again]).toEqual([
      { batchItemFailures: [] },
      { batchItemFailures: [] },
    ]);
    expect(
      requeued.map((m) => m.MessageAttributes?.looks?.StringValue)
    ).toEqual(['1']);
    expect(after?.status).toBe('resolved');
    expect(after?.timeline.at(-1)).toMatchObject({
      step: 'resolved',
      eventId: 'ev-pulled',
    });
    expect(await receiveAll(sqs, ownQueue)).toEqual([]);
  });

  it('live, lets a pull with no incident go at once', async () => {
    // Prepare
    const { handler } = await import('../../../functions/resolve.ts');

    // Act
    const response = await handler(
      { Records: [sqsRecord('m-2', pulledEnvelope('ev-live'))] },
      CONTEXT
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(
      await store.get({ cluster: CLUSTER, node: NODE_NAME, scope: 'live' })
    ).toBeUndefined();
    expect(await receiveAll(sqs, ownQueue)).toEqual([]);
  });

  it('keeps no decision record: a redelivery of its Pulled emits the same resolution again', async () => {
    // Prepare: an open incident whose prune was sent; the Pulled that
    // proves it is delivered twice (its first publish may have failed).
    const put: unknown[] = [];
    const handler = (
      await import('../../../functions/resolve.ts')
    ).definition.handler({
      client: (client) =>
        observeCommand(client, 'PutEventsCommand', (input) => {
          const { Entries } = input as { Entries: { DetailType: string }[] };
          put.push(...Entries.map((e) => e.DetailType));
        }),
    });
    const incident = anIncident();
    await store.openOrJoin(incident, incident.openedAt);
    const pulled = sqsRecord('m-3', pulledEnvelope('ev-twice'));

    // Act
    const first = await handler({ Records: [pulled] }, CONTEXT);
    const again = await handler({ Records: [pulled] }, CONTEXT);
    const records = await keptDecisionRecords(documents);
    const after = await store.get(incident.key);

    // Assess
    expect([first, again]).toEqual([
      { batchItemFailures: [] },
      { batchItemFailures: [] },
    ]);
    expect(put).toEqual(['Incident Resolved', 'Incident Resolved']);
    expect(after?.status).toBe('resolved');
    const resolvedSteps = after?.timeline.filter((t) => t.step === 'resolved');
    expect(resolvedSteps).toHaveLength(1);
    expect(records).toEqual([]);
  });
});
