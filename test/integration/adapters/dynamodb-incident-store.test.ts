import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoDbIncidentStore,
  incidentPk,
} from '../../../adapters/aws/dynamodb-incident-store.ts';
import {
  createPullmedicTable,
  PullmedicTable,
} from '../../../adapters/aws/dynamodb-table.ts';
import { candidate, KEY } from '../../contracts/stores.contract.ts';
import { observeCommand } from '../../helpers/aws.ts';
import { startTestAws } from '../../helpers/moto.ts';

// What the contract suite (dynamodb-contracts.test.ts) does not say: how
// the items look in the table, and the adapter's own bounds.
describe('Class: DynamoDbIncidentStore (against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let documents: DynamoDBDocumentClient;
  let store: DynamoDbIncidentStore;
  let tables = 0;
  let name = '';

  beforeAll(async () => {
    aws = await startTestAws();
  });
  afterAll(async () => {
    await aws.stop();
  });

  const freshTable = async () => {
    const client = new DynamoDBClient(aws.clientConfig);
    name = `incidents-${++tables}`;
    await createPullmedicTable(client, name);
    documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    store = new DynamoDbIncidentStore(
      new PullmedicTable(
        documents,
        name,
        3600,
        () => new Date('2026-11-20T10:00:00Z')
      )
    );
  };
  const item = async () =>
    (
      await documents.send(
        new GetCommand({ TableName: name, Key: { pk: incidentPk(KEY) } })
      )
    ).Item;

  it('keeps the sparse index keys on an incident that waits on pullmedic, and drops them once a person is told', async () => {
    // Prepare
    await freshTable();
    const c = candidate();
    await store.openOrJoin(c, c.openedAt);
    const waiting = await item();

    // Act
    await store.advance(KEY, c.incidentId, {
      to: 'escalated',
      by: 'event-a',
      due: null,
    });
    const told = await item();

    // Assess
    expect(waiting).toMatchObject({
      openShard: 'OPEN',
      due: '2026-11-20T09:46:00.000Z',
      status: 'open',
      expiresAt: Date.parse('2026-11-20T10:00:00Z') / 1000 + 3600,
    });
    expect(told?.openShard).toBeUndefined();
    expect(told?.due).toBeUndefined();
    expect(told?.record.step).toBe('escalated');
  });

  it('joins an open incident in one call: the refused write brings the incident back', async () => {
    // Prepare
    await freshTable();
    const c = candidate();
    await store.openOrJoin(c, c.openedAt);
    const calls: string[] = [];
    observeCommand(documents, 'GetItemCommand', () => calls.push('GetItem'));
    observeCommand(documents, 'PutItemCommand', () => calls.push('PutItem'));

    // Act
    const joined = await store.openOrJoin(
      candidate({ incidentId: 'another' }),
      c.openedAt
    );

    // Assess
    expect(joined).toMatchObject({
      outcome: 'joined',
      incident: { incidentId: c.incidentId, status: 'open' },
    });
    expect(calls).toEqual(['PutItem']);
  });

  it('keeps no deadline on a dry-run incident, even when one is asked for', async () => {
    // Prepare
    await freshTable();
    const c = candidate({ key: { ...KEY, scope: 'dry-run' } });

    // Act
    await store.openOrJoin(c, c.openedAt);
    await store.advance(c.key, c.incidentId, {
      to: 'prune-claimed',
      by: 'event-a',
      due: '2026-11-20T09:50:00.000Z',
    });

    // Assess
    const raw = await documents.send(
      new GetCommand({ TableName: name, Key: { pk: incidentPk(c.key) } })
    );
    expect(raw.Item?.openShard).toBeUndefined();
    expect(raw.Item?.record.due).toBeUndefined();
  });

  it('caps the timeline at 200 entries: a node that fails for days stays under DynamoDB’s item size', async () => {
    // Prepare
    await freshTable();
    const c = candidate({
      timeline: Array.from({ length: 199 }, (_, i) => ({
        at: '2026-11-20T09:41:00.000Z',
        step: 'joined',
        detail: `BackOff ${i}`,
      })),
    });
    await store.openOrJoin(c, c.openedAt);

    // Act
    await store.appendTimeline(KEY, c.incidentId, {
      at: '2026-11-20T09:42:00Z',
      step: 'joined',
      detail: 'the 200th',
    });
    await store.appendTimeline(KEY, c.incidentId, {
      at: '2026-11-20T09:43:00Z',
      step: 'joined',
      detail: 'the 201st',
    });

    // Assess
    const timeline = (await store.get(KEY))?.timeline ?? [];
    expect(timeline).toHaveLength(200);
    expect(timeline.at(-1)?.detail).toBe('the 200th');
  });
});
