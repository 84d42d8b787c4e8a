import {
  IdempotencyConfig,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbIncidentStore } from '../../../adapters/aws/dynamodb-incident-store.ts';
import { DynamoDbRepeatNotices } from '../../../adapters/aws/dynamodb-repeat-notices.ts';
import { DynamoDbRollLocks } from '../../../adapters/aws/dynamodb-roll-locks.ts';
import {
  createPullmedicTable,
  PullmedicTable,
} from '../../../adapters/aws/dynamodb-table.ts';
import { candidate, KEY } from '../../contracts/stores.contract.ts';
import { startTestAws } from '../../helpers/moto.ts';

/**
 * Every conditional write pullmedic relies on, raced by N concurrent
 * callers over many rounds on the local emulator: exactly one winner each
 * time. moto alone does not hold this (its check and its write are not
 * atomic: 2 winners of 8 were seen); the project's launcher serialises
 * requests (scripts/moto-launcher.py), and this test is what says the
 * local runtime and the other tests can trust a claim.
 */
const CALLERS = 8;
const ROUNDS = 20;

describe('Concurrency: conditional writes on the local emulator', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let table: PullmedicTable;
  let client: DynamoDBClient;
  const now = new Date('2026-11-20T10:00:00Z');

  beforeAll(async () => {
    aws = await startTestAws();
    client = new DynamoDBClient(aws.clientConfig);
    await createPullmedicTable(client, 'race');
    table = new PullmedicTable(
      DynamoDBDocumentClient.from(client, {
        marshallOptions: { removeUndefinedValues: true },
      }),
      'race',
      3600,
      () => now
    );
  });
  afterAll(async () => {
    await aws.stop();
  });

  /** Runs `attempt` for every caller at once, for each round; returns the winners per round. */
  const race = async (
    attempt: (round: number, caller: number) => Promise<boolean>
  ): Promise<number[]> => {
    const winners: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all(
        Array.from({ length: CALLERS }, (_, caller) => attempt(round, caller))
      );
      winners.push(results.filter(Boolean).length);
    }
    return winners;
  };
  const once = Array.from({ length: ROUNDS }, () => 1);
  const keyOf = (round: number, what: string) => ({
    ...KEY,
    node: `ip-10-0-${round}-1.${what}.internal`,
  });

  it('opens a node’s incident once', async () => {
    const store = new DynamoDbIncidentStore(table);
    const winners = await race(async (round, caller) => {
      const c = candidate({
        key: keyOf(round, 'open'),
        incidentId: `open-${round}-${caller}`,
      });
      return (await store.openOrJoin(c, c.openedAt)).outcome === 'opened';
    });
    expect(winners).toEqual(once);
  });

  it('moves an incident to a step once (the claim of its prune)', async () => {
    const store = new DynamoDbIncidentStore(table);
    const winners = await race(async (round, caller) => {
      const key = keyOf(round, 'claim');
      const c = candidate({ key, incidentId: `claim-${round}` });
      await store.openOrJoin(c, c.openedAt);
      const moved = await store.advance(key, c.incidentId, {
        to: 'prune-claimed',
        by: `event-${caller}`,
        due: null,
      });
      return moved.outcome === 'moved';
    });
    expect(winners).toEqual(once);
  });

  it('resolves an incident once', async () => {
    const store = new DynamoDbIncidentStore(table);
    for (let round = 0; round < ROUNDS; round++) {
      const c = candidate({
        key: keyOf(round, 'resolve'),
        incidentId: `resolve-${round}`,
      });
      await store.openOrJoin(c, c.openedAt);
    }
    const winners = await race((round) =>
      store.resolve(
        keyOf(round, 'resolve'),
        `resolve-${round}`,
        now.toISOString(),
        {
          at: now.toISOString(),
          step: 'resolved',
          detail: 'Pulled',
        }
      )
    );
    expect(winners).toEqual(once);
  });

  it('gives a node group’s roll lock to one incident', async () => {
    const locks = new DynamoDbRollLocks(table);
    const winners = await race(async (round, caller) => {
      const lock = await locks.acquire(
        `prod/group-${round}`,
        `incident-${caller}`,
        now,
        3600
      );
      return lock.acquired;
    });
    expect(winners).toEqual(once);
  });

  it('counts one roll against a budget of one an hour', async () => {
    const locks = new DynamoDbRollLocks(table);
    const winners = await race(async (round, caller) => {
      const hour = new Date(now.getTime() + round * 3_600_000);
      return (await locks.countRoll(hour, 1, `roll-${caller}`)).allowed;
    });
    expect(winners).toEqual(once);
  });

  it('posts a repeating notice once per quiet period', async () => {
    const notices = new DynamoDbRepeatNotices(table);
    const winners = await race(async (round) => {
      const verdict = await notices.record(`auth/prod/web-${round}`, now, 3600);
      return verdict.post;
    });
    expect(winners).toEqual(once);
  });

  it('runs an idempotent decision once for the same event (Powertools idempotency)', async () => {
    let runs = 0;
    const decide = makeIdempotent(
      async (_event: { key: string }) => {
        runs += 1;
        await new Promise((r) => setTimeout(r, 20));
        return { decided: true };
      },
      {
        persistenceStore: new DynamoDBPersistenceLayer({
          tableName: 'race',
          keyAttr: 'pk',
          expiryAttr: 'expiresAt',
          awsSdkV3Client: client,
        }),
        config: new IdempotencyConfig({ eventKeyJmesPath: 'key' }),
        keyPrefix: 'IDEMPOTENCY#race',
      }
    );
    await race(async (round) => {
      // The losers are told the decision is in progress: SQS would
      // deliver their record again later.
      await decide({ key: `event-${round}` }).catch(() => undefined);
      return true;
    });
    // Each round's decision ran exactly once, whichever caller ran it.
    expect(runs).toBe(ROUNDS);
  });
});
