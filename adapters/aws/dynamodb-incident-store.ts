import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { AwsCallError } from '../../core/errors.ts';
import type {
  IncidentKey,
  IncidentRecord,
  IncidentStore,
  NoticeVerdict,
  OpenResult,
  RepeatNotices,
  RollLocks,
} from '../../core/ports.ts';
import type { TimelineEntry } from '../../events/schemas.ts';
import { isConditionalCheckFailed } from './errors.ts';

/** A timeline keeps at most this many entries; the rest is in the logs. */
const MAX_TIMELINE = 200;

/** ISO times with milliseconds, so that string order is time order. */
const iso = (t: string): string => new Date(t).toISOString();

const incidentPk = (k: IncidentKey) =>
  `INCIDENT#${k.scope}#${k.cluster}#${k.node}`;

/**
 * The incident per cluster and node, the command → incident pointers and
 * the roll locks, in the one pullmedic table (`pk` string key, TTL on
 * `expiresAt`). Every state change is a conditional write, so redelivered
 * and concurrent events cannot prune or roll twice.
 *
 * @example
 * ```ts
 * const store = new DynamoDbIncidentStore(documentClient, 'pullmedic', 30 * 86400, clock);
 * ```
 */
export class DynamoDbIncidentStore
  implements IncidentStore, RollLocks, RepeatNotices
{
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #ttlSeconds: number;
  readonly #now: () => Date;

  constructor(
    client: DynamoDBDocumentClient,
    table: string,
    ttlSeconds: number,
    now: () => Date
  ) {
    this.#client = client;
    this.#table = table;
    this.#ttlSeconds = ttlSeconds;
    this.#now = now;
  }

  #expiresAt(): number {
    return Math.floor(this.#now().getTime() / 1000) + this.#ttlSeconds;
  }

  async get(key: IncidentKey): Promise<IncidentRecord | undefined> {
    const out = await this.#call('reading the incident', () =>
      this.#client.send(
        new GetCommand({
          TableName: this.#table,
          Key: { pk: incidentPk(key) },
          ConsistentRead: true,
        })
      )
    );
    return out.Item ? (out.Item.record as IncidentRecord) : undefined;
  }

  async openOrJoin(
    candidate: IncidentRecord,
    eventTime: string
  ): Promise<OpenResult> {
    const record = { ...candidate, openedAt: iso(candidate.openedAt) };
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: incidentPk(candidate.key),
            incidentId: record.incidentId,
            status: 'open',
            record,
            expiresAt: this.#expiresAt(),
          },
          // A node has one incident at a time. A resolved one is replaced
          // only by an event that happened after its resolution: replays
          // and redeliveries of its own events must not reopen it.
          ConditionExpression:
            'attribute_not_exists(pk) OR (#status = :resolved AND resolvedAt < :eventTime)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':resolved': 'resolved',
            ':eventTime': iso(eventTime),
          },
        })
      );
      return { outcome: 'opened', incident: record };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) {
        throw new AwsCallError('opening the incident', { cause: err });
      }
    }
    const existing = await this.get(candidate.key);
    if (existing === undefined) {
      // Expired between the write and the read: try once more.
      return this.openOrJoin(candidate, eventTime);
    }
    return existing.status === 'open'
      ? { outcome: 'joined', incident: existing }
      : { outcome: 'stale', incident: existing };
  }

  claimPrune(key: IncidentKey, incidentId: string, at: string) {
    return this.#claim(key, incidentId, 'pruneRequestedAt', at);
  }

  claimRoll(key: IncidentKey, incidentId: string, at: string) {
    return this.#claim(key, incidentId, 'rollRequestedAt', at);
  }

  claimRollStart(key: IncidentKey, incidentId: string, at: string) {
    return this.#claim(key, incidentId, 'rollStartedAt', at);
  }

  async #claim(
    key: IncidentKey,
    incidentId: string,
    field: 'pruneRequestedAt' | 'rollRequestedAt' | 'rollStartedAt',
    at: string
  ): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: incidentPk(key) },
          UpdateExpression: 'SET #record.#field = :at, expiresAt = :exp',
          ConditionExpression:
            'incidentId = :id AND attribute_not_exists(#record.#field)',
          ExpressionAttributeNames: { '#record': 'record', '#field': field },
          ExpressionAttributeValues: {
            ':at': iso(at),
            ':id': incidentId,
            ':exp': this.#expiresAt(),
          },
        })
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw new AwsCallError(`claiming ${field}`, { cause: err });
    }
  }

  async recordPruneCommand(
    key: IncidentKey,
    incidentId: string,
    commandId: string
  ): Promise<void> {
    await this.#call('recording the prune command', async () => {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: incidentPk(key) },
          UpdateExpression: 'SET #record.pruneCommandId = :cmd',
          ConditionExpression: 'incidentId = :id',
          ExpressionAttributeNames: { '#record': 'record' },
          ExpressionAttributeValues: { ':cmd': commandId, ':id': incidentId },
        })
      );
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: `COMMAND#${commandId}`,
            incidentPk: incidentPk(key),
            incidentId,
            expiresAt: this.#expiresAt(),
          },
        })
      );
    });
  }

  async findByCommand(commandId: string): Promise<IncidentRecord | undefined> {
    const pointer = await this.#call('reading the command pointer', () =>
      this.#client.send(
        new GetCommand({
          TableName: this.#table,
          Key: { pk: `COMMAND#${commandId}` },
          ConsistentRead: true,
        })
      )
    );
    if (!pointer.Item) return undefined;
    const out = await this.#call('reading the incident', () =>
      this.#client.send(
        new GetCommand({
          TableName: this.#table,
          Key: { pk: pointer.Item?.incidentPk as string },
          ConsistentRead: true,
        })
      )
    );
    const record = out.Item?.record as IncidentRecord | undefined;
    return record?.incidentId === pointer.Item.incidentId ? record : undefined;
  }

  async appendTimeline(
    key: IncidentKey,
    incidentId: string,
    entry: TimelineEntry
  ): Promise<void> {
    const incident = await this.get(key);
    // A late step of an incident a newer one replaced stays in the logs
    // only; and bounded: a node that fails for days must not grow an item
    // past 400 KB.
    if (
      incident?.incidentId !== incidentId ||
      incident.timeline.length >= MAX_TIMELINE
    ) {
      return;
    }
    await this.#update(
      key,
      incidentId,
      'SET #record.timeline = list_append(#record.timeline, :entry)',
      {
        ':entry': [{ ...entry, at: iso(entry.at) }],
      }
    );
  }

  async resolve(
    key: IncidentKey,
    incidentId: string,
    at: string,
    entry: TimelineEntry
  ): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: incidentPk(key) },
          UpdateExpression:
            'SET #status = :resolved, resolvedAt = :at, #record.#status = :resolved, #record.resolvedAt = :at, #record.timeline = list_append(#record.timeline, :entry), expiresAt = :exp',
          ConditionExpression: 'incidentId = :id AND #status = :open',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#record': 'record',
          },
          ExpressionAttributeValues: {
            ':resolved': 'resolved',
            ':open': 'open',
            ':at': iso(at),
            ':id': incidentId,
            ':entry': [{ ...entry, at: iso(entry.at) }],
            ':exp': this.#expiresAt(),
          },
        })
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw new AwsCallError('resolving the incident', { cause: err });
    }
  }

  async acquire(
    groupKey: string,
    holder: string,
    now: Date,
    cooldownSeconds: number
  ): Promise<{ acquired: true } | { acquired: false; heldBy: string }> {
    const nowEpoch = Math.floor(now.getTime() / 1000);
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
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
      );
      return { acquired: true };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) {
        throw new AwsCallError('acquiring the roll lock', { cause: err });
      }
      const out = await this.#client.send(
        new GetCommand({
          TableName: this.#table,
          Key: { pk: `ROLL#${groupKey}` },
          ConsistentRead: true,
        })
      );
      return { acquired: false, heldBy: String(out.Item?.holder ?? 'unknown') };
    }
  }

  async release(groupKey: string, holder: string, now: Date): Promise<void> {
    // Ended, not deleted: the same UpdateItem on ROLL# the role already
    // allows, and the row keeps who held it last.
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: `ROLL#${groupKey}` },
          UpdateExpression: 'SET lockedUntil = :ended, releasedAt = :at',
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: {
            ':ended': Math.floor(now.getTime() / 1000) - 1,
            ':at': now.toISOString(),
            ':holder': holder,
          },
        })
      );
    } catch (err) {
      // Held by another incident by now (or gone): not ours to release.
      if (isConditionalCheckFailed(err)) return;
      throw new AwsCallError('releasing the roll lock', { cause: err });
    }
  }

  async countRoll(
    now: Date,
    limit: number
  ): Promise<{ allowed: true } | { allowed: false; count: number }> {
    const hour = now.toISOString().slice(0, 13);
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: `ROLLS#${hour}` },
          UpdateExpression: 'ADD rolls :one SET expiresAt = :exp',
          ConditionExpression: 'attribute_not_exists(rolls) OR rolls < :limit',
          ExpressionAttributeValues: {
            ':one': 1,
            ':limit': limit,
            ':exp': Math.floor(now.getTime() / 1000) + 2 * 86400,
          },
        })
      );
      return { allowed: true };
    } catch (err) {
      if (isConditionalCheckFailed(err))
        return { allowed: false, count: limit };
      throw new AwsCallError('counting the roll', { cause: err });
    }
  }

  async record(
    key: string,
    now: Date,
    quietSeconds: number
  ): Promise<NoticeVerdict> {
    const nowEpoch = Math.floor(now.getTime() / 1000);
    const item = { pk: `NOTICE#${key}` };
    try {
      // A new quiet period starts when none runs; the old item tells how
      // many repeats the last one counted.
      const out = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
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
        throw new AwsCallError('recording the notice', { cause: err });
      }
    }
    await this.#call('counting a repeated notice', () =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: item,
          UpdateExpression: 'ADD repeats :one',
          ExpressionAttributeValues: { ':one': 1 },
        })
      )
    );
    return { post: false };
  }

  async forget(key: string): Promise<void> {
    await this.#call('forgetting the notice', () =>
      this.#client.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { pk: `NOTICE#${key}` },
        })
      )
    );
  }

  async #update(
    key: IncidentKey,
    incidentId: string,
    expression: string,
    values: Record<string, unknown>
  ): Promise<void> {
    await this.#call('updating the incident', () =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: incidentPk(key) },
          UpdateExpression: `${expression}, expiresAt = :exp`,
          ConditionExpression: 'incidentId = :id',
          ExpressionAttributeNames: { '#record': 'record' },
          ExpressionAttributeValues: {
            ...values,
            ':id': incidentId,
            ':exp': this.#expiresAt(),
          },
        })
      )
    );
  }

  async #call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new AwsCallError(action, { cause: err });
    }
  }
}
