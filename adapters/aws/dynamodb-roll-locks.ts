import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RollLocks } from '../../core/ports.ts';
import type { PullmedicTable } from './dynamodb-table.ts';

/**
 * The guardrails on rolls, in the pullmedic table: one lock per node group
 * (`ROLL#<cluster>/<group>`) within the cooldown, and the fleet's count of
 * rolls per clock hour (`ROLLS#<hour>`). Both conditional writes.
 *
 * @example
 * ```ts
 * const locks = new DynamoDbRollLocks(table);
 * await locks.acquire('prod/gpu', incidentId, new Date(), 21600);
 * ```
 */
export class DynamoDbRollLocks implements RollLocks {
  readonly #table: PullmedicTable;

  constructor(table: PullmedicTable) {
    this.#table = table;
  }

  async acquire(
    groupKey: string,
    holder: string,
    now: Date,
    cooldownSeconds: number
  ): Promise<{ acquired: true } | { acquired: false; heldBy: string }> {
    const t = this.#table;
    const nowEpoch = Math.floor(now.getTime() / 1000);
    const acquired = await t.conditional('acquiring the roll lock', () =>
      t.client.send(
        new PutCommand({
          TableName: t.name,
          Item: {
            pk: `ROLL#${groupKey}`,
            holder,
            acquiredAt: now.toISOString(),
            lockedUntil: nowEpoch + cooldownSeconds,
            expiresAt: nowEpoch + cooldownSeconds + 86400,
          },
          ConditionExpression:
            'attribute_not_exists(pk) OR lockedUntil < :now OR holder = :holder',
          ExpressionAttributeValues: { ':now': nowEpoch, ':holder': holder },
        })
      )
    );
    if (acquired) return { acquired: true };
    const out = await t.call('reading the roll lock', () =>
      t.client.send(
        new GetCommand({
          TableName: t.name,
          Key: { pk: `ROLL#${groupKey}` },
          ConsistentRead: true,
        })
      )
    );
    return { acquired: false, heldBy: String(out.Item?.holder ?? 'unknown') };
  }

  async release(groupKey: string, holder: string, now: Date): Promise<void> {
    const t = this.#table;
    // Ended, not deleted: the same UpdateItem on ROLL# the role already
    // allows, and the row keeps who held it last. Held by another incident
    // by now (or gone): not ours to release, and nothing to do.
    await t.conditional('releasing the roll lock', () =>
      t.client.send(
        new UpdateCommand({
          TableName: t.name,
          Key: { pk: `ROLL#${groupKey}` },
          UpdateExpression: 'SET lockedUntil = :ended, releasedAt = :at',
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: {
            ':ended': Math.floor(now.getTime() / 1000) - 1,
            ':at': now.toISOString(),
            ':holder': holder,
          },
        })
      )
    );
  }

  async countRoll(
    now: Date,
    limit: number,
    holder: string
  ): Promise<{ allowed: true } | { allowed: false; count: number }> {
    const t = this.#table;
    const hour = now.toISOString().slice(0, 13);
    // The holders counted are kept in the row: a retry of the same roll
    // finds itself there and is not counted twice.
    const counted = await t.conditional('counting the roll', () =>
      t.client.send(
        new UpdateCommand({
          TableName: t.name,
          Key: { pk: `ROLLS#${hour}` },
          UpdateExpression:
            'ADD rolls :one, holders :holder SET expiresAt = :exp',
          ConditionExpression:
            '(attribute_not_exists(rolls) OR rolls < :limit) AND NOT contains(holders, :name)',
          ExpressionAttributeValues: {
            ':one': 1,
            ':holder': new Set([holder]),
            ':name': holder,
            ':limit': limit,
            ':exp': Math.floor(now.getTime() / 1000) + 2 * 86400,
          },
        })
      )
    );
    if (counted) return { allowed: true };
    const out = await t.call('reading the hour’s rolls', () =>
      t.client.send(
        new GetCommand({
          TableName: t.name,
          Key: { pk: `ROLLS#${hour}` },
          ConsistentRead: true,
        })
      )
    );
    const holders = out.Item?.holders as Set<string> | undefined;
    if (holders?.has(holder)) return { allowed: true };
    return { allowed: false, count: Number(out.Item?.rolls ?? limit) };
  }
}
