import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { NoticeVerdict, RepeatNotices } from '../../core/ports.ts';
import type { PullmedicTable } from './dynamodb-table.ts';
import { isConditionalCheckFailed, wrapAwsError } from './errors.ts';

/**
 * Where repeats of a notice are counted (`NOTICE#<key>` rows of the
 * pullmedic table): the first of a quiet period is posted, the rest
 * counted, and the next post says how many.
 *
 * @example
 * ```ts
 * const notices = new DynamoDbRepeatNotices(table);
 * await notices.record('auth/prod/default/web', new Date(), 3600);
 * ```
 */
export class DynamoDbRepeatNotices implements RepeatNotices {
  readonly #table: PullmedicTable;

  constructor(table: PullmedicTable) {
    this.#table = table;
  }

  async record(
    key: string,
    now: Date,
    quietSeconds: number
  ): Promise<NoticeVerdict> {
    const t = this.#table;
    const nowEpoch = Math.floor(now.getTime() / 1000);
    const item = { pk: `NOTICE#${key}` };
    try {
      // A new quiet period starts when none runs; the old item tells how
      // many repeats the last one counted.
      const out = await t.client.send(
        new UpdateCommand({
          TableName: t.name,
          Key: item,
          UpdateExpression:
            'SET quietUntil = :until, repeats = :zero, expiresAt = :exp',
          ConditionExpression: 'attribute_not_exists(pk) OR quietUntil <= :now',
          ExpressionAttributeValues: {
            ':until': nowEpoch + quietSeconds,
            ':zero': 0,
            ':now': nowEpoch,
            ':exp': nowEpoch + quietSeconds + 86400,
          },
          ReturnValues: 'ALL_OLD',
        })
      );
      return { post: true, repeats: Number(out.Attributes?.repeats ?? 0) };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) {
        throw wrapAwsError('recording the notice', err);
      }
    }
    await t.call('counting a repeated notice', () =>
      t.client.send(
        new UpdateCommand({
          TableName: t.name,
          Key: item,
          UpdateExpression: 'ADD repeats :one',
          ExpressionAttributeValues: { ':one': 1 },
        })
      )
    );
    return { post: false };
  }

  async forget(key: string): Promise<void> {
    const t = this.#table;
    await t.call('forgetting the notice', () =>
      t.client.send(
        new DeleteCommand({
          TableName: t.name,
          Key: { pk: `NOTICE#${key}` },
        })
      )
    );
  }
}
