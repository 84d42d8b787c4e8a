import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbIncidentStore } from '../../../adapters/aws/dynamodb-incident-store.ts';
import type { IncidentRecord } from '../../../core/ports.ts';
import { startTestAws } from '../../helpers/moto.ts';

const key = {
  cluster: 'prod',
  node: 'ip-10-0-1-149.ec2.internal',
  scope: 'live',
};
const candidate = (
  openedAt: string,
  id = `inc-${openedAt}`
): IncidentRecord => ({
  key,
  incidentId: id,
  status: 'open',
  openedAt,
  node: { name: key.node, instanceId: 'i-0123456789abcdef0' },
  class: 'disk_full',
  evidence: 'no space left on device',
  timeline: [{ at: openedAt, step: 'classified', detail: 'disk_full' }],
});

describe('Class: DynamoDbIncidentStore (against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let store: DynamoDbIncidentStore;
  let documents: DynamoDBDocumentClient;
  let table = 0;
  const now = new Date('2026-11-20T10:00:00Z');

  beforeAll(async () => {
    aws = await startTestAws();
  });
  afterAll(async () => {
    await aws.stop();
  });

  const freshTable = async () => {
    const client = new DynamoDBClient(aws.clientConfig);
    const name = `incidents-${++table}`;
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      })
    );
    documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    store = new DynamoDbIncidentStore(documents, name, 3600, () => now);
    return name;
  };

  describe('Method: openOrJoin', () => {
    it('opens once, then joins, and treats events older than the resolution as stale', async () => {
      // Prepare
      await freshTable();

      // Act
      const first = await store.openOrJoin(
        candidate('2026-11-20T09:40:59Z'),
        '2026-11-20T09:40:59Z'
      );
      const second = await store.openOrJoin(
        candidate('2026-11-20T09:41:30Z'),
        '2026-11-20T09:41:30Z'
      );
      await store.resolve(
        key,
        first.incident.incidentId,
        '2026-11-20T09:45:00Z',
        {
          at: '2026-11-20T09:45:00Z',
          step: 'resolved',
          detail: 'Pulled',
        }
      );
      const replayed = await store.openOrJoin(
        candidate('2026-11-20T09:40:59Z'),
        '2026-11-20T09:40:59Z'
      );
      const later = await store.openOrJoin(
        candidate('2026-11-21T08:00:00.000Z', 'inc-2'),
        '2026-11-21T08:00:00.000Z'
      );

      // Assess
      expect(first.outcome).toBe('opened');
      expect(second.outcome).toBe('joined');
      expect(second.incident.incidentId).toBe(first.incident.incidentId);
      expect(replayed.outcome).toBe('stale');
      expect(later.outcome).toBe('opened');
      expect((await store.get(key))?.incidentId).toBe('inc-2');
    });
  });

  describe('Method: claimPrune / claimRoll', () => {
    it('grants each claim once per incident', async () => {
      // Prepare
      await freshTable();
      const { incident } = await store.openOrJoin(
        candidate('2026-11-20T09:40:59Z'),
        '2026-11-20T09:40:59Z'
      );

      // Act
      const prunes = [
        await store.claimPrune(key, incident.incidentId, now.toISOString()),
        await store.claimPrune(key, incident.incidentId, now.toISOString()),
      ];
      const rolls = [
        await store.claimRoll(key, incident.incidentId, now.toISOString()),
        await store.claimRoll(key, incident.incidentId, now.toISOString()),
      ];
      const otherIncident = await store.claimPrune(
        key,
        'not-this-one',
        now.toISOString()
      );

      // Assess
      expect(prunes).toEqual([true, false]);
      expect(rolls).toEqual([true, false]);
      expect(otherIncident).toBe(false);
      const stored = await store.get(key);
      expect(stored?.pruneRequestedAt).toBe(now.toISOString());
      expect(stored?.rollRequestedAt).toBe(now.toISOString());
    });
  });

  describe('Method: recordPruneCommand / findByCommand / appendTimeline', () => {
    it('finds the incident from its command id and keeps the timeline in order', async () => {
      // Prepare
      const table = await freshTable();
      const { incident } = await store.openOrJoin(
        candidate('2026-11-20T09:40:59Z'),
        '2026-11-20T09:40:59Z'
      );

      // Act
      await store.recordPruneCommand(key, incident.incidentId, 'cmd-1');
      await store.appendTimeline(key, incident.incidentId, {
        at: '2026-11-20T09:42:00Z',
        step: 'prune-requested',
        detail: 'sent',
      });
      const found = await store.findByCommand('cmd-1');
      const missing = await store.findByCommand('cmd-unknown');
      const pointer = await documents.send(
        new GetCommand({ TableName: table, Key: { pk: 'COMMAND#cmd-1' } })
      );

      // Assess
      expect(found?.incidentId).toBe(incident.incidentId);
      expect(found?.pruneCommandId).toBe('cmd-1');
      expect(found?.timeline.map((t) => t.step)).toEqual([
        'classified',
        'prune-requested',
      ]);
      expect(missing).toBeUndefined();
      expect(pointer.Item?.expiresAt).toBe(
        Math.floor(now.getTime() / 1000) + 3600
      );
    });
  });

  describe('Method: resolve', () => {
    it('resolves an open incident once', async () => {
      // Prepare
      await freshTable();
      const { incident } = await store.openOrJoin(
        candidate('2026-11-20T09:40:59Z'),
        '2026-11-20T09:40:59Z'
      );
      const entry = {
        at: '2026-11-20T09:45:00Z',
        step: 'resolved',
        detail: 'Pulled',
      };

      // Act
      const first = await store.resolve(
        key,
        incident.incidentId,
        entry.at,
        entry
      );
      const second = await store.resolve(
        key,
        incident.incidentId,
        entry.at,
        entry
      );

      // Assess
      expect([first, second]).toEqual([true, false]);
      const stored = await store.get(key);
      expect(stored?.status).toBe('resolved');
      expect(stored?.resolvedAt).toBe('2026-11-20T09:45:00.000Z');
      expect(stored?.timeline.at(-1)?.step).toBe('resolved');
    });
  });

  describe('Method: acquire', () => {
    it('holds a node group for the cooldown, then frees it', async () => {
      // Prepare
      await freshTable();

      // Act
      const first = await store.acquire('prod/gpu', 'inc-a', now, 600);
      const again = await store.acquire('prod/gpu', 'inc-a', now, 600);
      const other = await store.acquire(
        'prod/gpu',
        'inc-b',
        new Date(now.getTime() + 60_000),
        600
      );
      const afterCooldown = await store.acquire(
        'prod/gpu',
        'inc-b',
        new Date(now.getTime() + 601_000),
        600
      );

      // Assess
      expect(first).toEqual({ acquired: true });
      expect(again).toEqual({ acquired: true });
      expect(other).toEqual({ acquired: false, heldBy: 'inc-a' });
      expect(afterCooldown).toEqual({ acquired: true });
    });
  });

  describe('Method: release', () => {
    it('frees a group at once, and only for the incident that holds it', async () => {
      // Prepare
      await freshTable();
      await store.acquire('prod/gpu', 'inc-a', now, 600);
      const soon = new Date(now.getTime() + 5_000);

      // Act
      await store.release('prod/gpu', 'inc-b', soon);
      const whileHeld = await store.acquire('prod/gpu', 'inc-b', soon, 600);
      await store.release('prod/gpu', 'inc-a', soon);
      const afterRelease = await store.acquire('prod/gpu', 'inc-b', soon, 600);
      await store.release('prod/none', 'inc-a', soon);

      // Assess
      expect(whileHeld).toEqual({ acquired: false, heldBy: 'inc-a' });
      expect(afterRelease).toEqual({ acquired: true });
    });
  });

  describe('Methods: record and forget (repeated notices)', () => {
    it('posts the first notice of a quiet period, counts the repeats, and tells the next post', async () => {
      // Prepare
      const name = await freshTable();
      const key =
        'live/pull/prod/ip-10-0-1-149.ec2.internal/inference/triton/auth';
      const later = (s: number) => new Date(now.getTime() + s * 1000);

      // Act
      const first = await store.record(key, now, 3600);
      const repeats = [
        await store.record(key, later(60), 3600),
        await store.record(key, later(120), 3600),
      ];
      const stored = await documents.send(
        new GetCommand({ TableName: name, Key: { pk: `NOTICE#${key}` } })
      );
      const afterQuiet = await store.record(key, later(3600), 3600);
      await store.forget(key);
      const afterForget = await store.record(key, later(3601), 3600);

      // Assess
      expect(first).toEqual({ post: true, repeats: 0 });
      expect(repeats).toEqual([{ post: false }, { post: false }]);
      expect(stored.Item).toMatchObject({
        repeats: 2,
        quietUntil: Math.floor(now.getTime() / 1000) + 3600,
      });
      expect(afterQuiet).toEqual({ post: true, repeats: 2 });
      expect(afterForget).toEqual({ post: true, repeats: 0 });
    });
  });
});
