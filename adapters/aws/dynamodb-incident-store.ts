import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { stepsBefore } from '../../core/incident-steps.ts';
import type {
  Advance,
  Emitted,
  IncidentKey,
  IncidentRecord,
  IncidentStore,
  Move,
  OpenResult,
  PruneIntent,
  RollProgress,
} from '../../core/ports.ts';
import {
  MAX_PODS_PER_REQUEST,
  type PodRef,
  type TimelineEntry,
} from '../../events/schemas.ts';
import { DUE_INDEX, DUE_SHARD, type PullmedicTable } from './dynamodb-table.ts';
import { isConditionalCheckFailed, wrapAwsError } from './errors.ts';

/** A timeline keeps at most this many entries; the rest is in the logs. */
const MAX_TIMELINE = 200;

/** ISO times with milliseconds, so that string order is time order. */
const iso = (t: string): string => new Date(t).toISOString();

export const incidentPk = (k: IncidentKey) =>
  `INCIDENT#${k.scope}#${k.cluster}#${k.node}`;

/** An UpdateExpression built clause by clause, with its names and values. */
class Update {
  readonly sets: string[] = [];
  readonly removes: string[] = [];
  readonly names: Record<string, string> = { '#record': 'record' };
  readonly values: Record<string, unknown> = {};

  set(path: string, value: unknown): this {
    const placeholder = `:v${Object.keys(this.values).length}`;
    this.values[placeholder] = value;
    this.sets.push(`${path} = ${placeholder}`);
    return this;
  }

  /** Appends to a list attribute. */
  append(path: string, items: unknown[]): this {
    const placeholder = `:v${Object.keys(this.values).length}`;
    this.values[placeholder] = items;
    this.sets.push(`${path} = list_append(${path}, ${placeholder})`);
    return this;
  }

  /** The deadline, in the record and in the sparse index's keys. */
  due(due: string | null | undefined, live: boolean): this {
    if (due === undefined) return this;
    if (due === null || !live) {
      this.removes.push('#record.#due', '#due', 'openShard');
    } else {
      this.set('#record.#due', iso(due));
      this.set('#due', iso(due));
      this.set('openShard', DUE_SHARD);
    }
    this.names['#due'] = 'due';
    return this;
  }

  expression(): string {
    return [
      this.sets.length ? `SET ${this.sets.join(', ')}` : '',
      this.removes.length ? `REMOVE ${this.removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
  }
}

/**
 * The incident per cluster and node, and the pointers from a prune's
 * intent and command to it, in the pullmedic table. Every change of step
 * is one conditional write along core/incident-steps.ts's arrows, so
 * redelivered and concurrent events cannot prune or roll twice, and a
 * retry of the request that moved an incident carries on.
 *
 * Live incidents waiting on pullmedic carry `openShard` and `due`: the keys
 * of the sparse index the reconciler queries (resolved, escalated and
 * dry-run incidents leave it).
 *
 * @example
 * ```ts
 * const store = new DynamoDbIncidentStore(new PullmedicTable(documents, 'pullmedic', 30 * 86400, now));
 * ```
 */
export class DynamoDbIncidentStore implements IncidentStore {
  readonly #table: PullmedicTable;

  constructor(table: PullmedicTable) {
    this.#table = table;
  }

  async get(key: IncidentKey): Promise<IncidentRecord | undefined> {
    return this.#getByPk(incidentPk(key));
  }

  async #getByPk(pk: string): Promise<IncidentRecord | undefined> {
    const t = this.#table;
    const out = await t.call('reading the incident', () =>
      t.client.send(
        new GetCommand({ TableName: t.name, Key: { pk }, ConsistentRead: true })
      )
    );
    return out.Item ? (out.Item.record as IncidentRecord) : undefined;
  }

  async openOrJoin(
    candidate: IncidentRecord,
    eventTime: string
  ): Promise<OpenResult> {
    const t = this.#table;
    const record: IncidentRecord = {
      ...candidate,
      openedAt: iso(candidate.openedAt),
      ...(candidate.due ? { due: iso(candidate.due) } : {}),
    };
    const live = candidate.key.scope === 'live' && record.due !== undefined;
    let existing: IncidentRecord | undefined;
    try {
      await t.client.send(
        new PutCommand({
          TableName: t.name,
          Item: {
            pk: incidentPk(candidate.key),
            incidentId: record.incidentId,
            status: 'open',
            record,
            ...(live ? { openShard: DUE_SHARD, due: record.due } : {}),
            expiresAt: t.expiresAt(),
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
          // The incident that is there comes back with the refusal: a
          // storm's joins cost one call each, not two.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        })
      );
      return { outcome: 'opened', incident: record };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) {
        throw wrapAwsError('opening the incident', err);
      }
      const old = (err as { Item?: Record<string, AttributeValue> }).Item;
      existing = old
        ? (unmarshall(old).record as IncidentRecord)
        : await this.get(candidate.key);
    }
    if (existing === undefined) {
      // Expired between the write and the read: try once more.
      return this.openOrJoin(candidate, eventTime);
    }
    return existing.status === 'open'
      ? { outcome: 'joined', incident: existing }
      : { outcome: 'stale', incident: existing };
  }

  async advance(
    key: IncidentKey,
    incidentId: string,
    move: Move
  ): Promise<Advance> {
    const t = this.#table;
    const from = stepsBefore(move.to);
    const u = new Update()
      .set('#record.#step', move.to)
      .set('#record.stepBy', move.by)
      .due(move.due, key.scope === 'live');
    u.names['#step'] = 'step';
    u.names['#status'] = 'status';
    if (move.prune) u.set('#record.prune', move.prune);
    if (move.roll) {
      u.set('#record.#roll', move.roll);
      u.names['#roll'] = 'roll';
    }
    if (move.outbox) u.set('#record.outbox', move.outbox);
    if (move.entry) {
      u.append('#record.timeline', [{ ...move.entry, at: iso(move.entry.at) }]);
    }
    u.set('expiresAt', t.expiresAt());
    const fromValues = Object.fromEntries(from.map((s, i) => [`:from${i}`, s]));
    try {
      const out = await t.client.send(
        new UpdateCommand({
          TableName: t.name,
          Key: { pk: incidentPk(key) },
          UpdateExpression: u.expression(),
          ConditionExpression: `incidentId = :id AND #status = :open AND #record.#step IN (${Object.keys(fromValues).join(', ')})`,
          ExpressionAttributeNames: u.names,
          ExpressionAttributeValues: {
            ...u.values,
            ...fromValues,
            ':id': incidentId,
            ':open': 'open',
          },
          ReturnValues: 'ALL_NEW',
        })
      );
      return {
        outcome: 'moved',
        incident: out.Attributes?.record as IncidentRecord,
      };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) {
        throw wrapAwsError(`moving the incident to ${move.to}`, err);
      }
    }
    // Not moved: a retry of the request that moved it, or someone else's.
    const incident = await this.get(key);
    return incident?.incidentId === incidentId && incident.stepBy === move.by
      ? { outcome: 'mine', incident }
      : { outcome: 'refused', incident };
  }

  async progress(
    key: IncidentKey,
    incidentId: string,
    by: string,
    patch: {
      prune?: PruneIntent;
      roll?: RollProgress;
      due?: string | null;
      outbox?: Emitted[] | null;
    }
  ): Promise<boolean> {
    const t = this.#table;
    const u = new Update().due(patch.due, key.scope === 'live');
    if (patch.prune) u.set('#record.prune', patch.prune);
    if (patch.roll) {
      u.set('#record.#roll', patch.roll);
      u.names['#roll'] = 'roll';
    }
    if (patch.outbox === null) u.removes.push('#record.outbox');
    else if (patch.outbox) u.set('#record.outbox', patch.outbox);
    u.set('expiresAt', t.expiresAt());
    return t.conditional('recording the incident’s progress', () =>
      t.client.send(
        new UpdateCommand({
          TableName: t.name,
          Key: { pk: incidentPk(key) },
          UpdateExpression: u.expression(),
          ConditionExpression: 'incidentId = :id AND #record.stepBy = :by',
          ExpressionAttributeNames: u.names,
          ExpressionAttributeValues: {
            ...u.values,
            ':id': incidentId,
            ':by': by,
          },
        })
      )
    );
  }

  pointIntent(key: IncidentKey, incidentId: string, intentId: string) {
    return this.#point(`INTENT#${intentId}`, key, incidentId);
  }

  pointCommand(key: IncidentKey, incidentId: string, commandId: string) {
    return this.#point(`COMMAND#${commandId}`, key, incidentId);
  }

  async #point(pk: string, key: IncidentKey, incidentId: string) {
    const t = this.#table;
    await t.call('writing a pointer to the incident', () =>
      t.client.send(
        new PutCommand({
          TableName: t.name,
          Item: {
            pk,
            incidentPk: incidentPk(key),
            incidentId,
            expiresAt: t.expiresAt(),
          },
        })
      )
    );
  }

  findByCommand(commandId: string) {
    return this.#follow(`COMMAND#${commandId}`);
  }

  async findByIntent(intentId: string) {
    const record = await this.#follow(`INTENT#${intentId}`);
    return record?.prune?.intentId === intentId ? record : undefined;
  }

  async #follow(pk: string): Promise<IncidentRecord | undefined> {
    const t = this.#table;
    const pointer = await t.call('reading a pointer to the incident', () =>
      t.client.send(
        new GetCommand({ TableName: t.name, Key: { pk }, ConsistentRead: true })
      )
    );
    if (!pointer.Item) return undefined;
    const record = await this.#getByPk(String(pointer.Item.incidentPk));
    return record?.incidentId === pointer.Item.incidentId ? record : undefined;
  }

  async appendTimeline(
    key: IncidentKey,
    incidentId: string,
    entry: TimelineEntry,
    current?: IncidentRecord
  ): Promise<void> {
    const incident = current ?? (await this.get(key));
    // A late step of an incident a newer one replaced stays in the logs
    // only; bounded: a node that fails for days must not grow an item
    // past 400 KB; and an event delivered again adds its step once.
    if (
      incident?.incidentId !== incidentId ||
      incident.timeline.length >= MAX_TIMELINE ||
      (entry.eventId !== undefined &&
        incident.timeline.some(
          (t) => t.eventId === entry.eventId && t.step === entry.step
        ))
    ) {
      return;
    }
    const t = this.#table;
    // Replaced since it was read: its step is dropped, as above.
    await t.conditional('updating the incident', () =>
      t.client.send(
        new UpdateCommand({
          TableName: t.name,
          Key: { pk: incidentPk(key) },
          UpdateExpression:
            'SET #record.timeline = list_append(#record.timeline, :entry), expiresAt = :exp',
          ConditionExpression: 'incidentId = :id',
          ExpressionAttributeNames: { '#record': 'record' },
          ExpressionAttributeValues: {
            ':entry': [{ ...entry, at: iso(entry.at) }],
            ':id': incidentId,
            ':exp': t.expiresAt(),
          },
        })
      )
    );
  }

  async notePod(
    key: IncidentKey,
    incidentId: string,
    pod: PodRef
  ): Promise<void> {
    const t = this.#table;
    const podKey = `${pod.namespace}/${pod.name}`;
    // The caller's read may be older than another join's note of the same
    // pod (a storm's repeats of one pod arrive together): the string set
    // of noted pods makes the note once, atomically, so repeats never
    // crowd other pods out of the list's MAX_PODS_PER_REQUEST.
    await t.conditional('noting a pod of the incident', () =>
      t.client.send(
        new UpdateCommand({
          TableName: t.name,
          Key: { pk: incidentPk(key) },
          UpdateExpression:
            'SET #record.pods = list_append(if_not_exists(#record.pods, :none), :pod) ADD notedPods :podKeys',
          ConditionExpression:
            'incidentId = :id AND NOT contains(notedPods, :podKey) AND (attribute_not_exists(#record.pods) OR size(#record.pods) < :max)',
          ExpressionAttributeNames: { '#record': 'record' },
          ExpressionAttributeValues: {
            ':pod': [{ namespace: pod.namespace, name: pod.name }],
            ':none': [],
            ':id': incidentId,
            ':podKey': podKey,
            ':podKeys': new Set([podKey]),
            ':max': MAX_PODS_PER_REQUEST,
          },
        })
      )
    );
  }

  async resolve(
    key: IncidentKey,
    incidentId: string,
    at: string,
    entry: TimelineEntry
  ): Promise<boolean> {
    const t = this.#table;
    return t.conditional('resolving the incident', () =>
      t.client.send(
        new UpdateCommand({
          TableName: t.name,
          Key: { pk: incidentPk(key) },
          UpdateExpression:
            'SET #status = :resolved, resolvedAt = :at, #record.#status = :resolved, #record.resolvedAt = :at, #record.#step = :resolved, #record.timeline = list_append(#record.timeline, :entry), expiresAt = :exp REMOVE #record.#due, #due, openShard',
          ConditionExpression: 'incidentId = :id AND #status = :open',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#record': 'record',
            '#step': 'step',
            '#due': 'due',
          },
          ExpressionAttributeValues: {
            ':resolved': 'resolved',
            ':open': 'open',
            ':at': iso(at),
            ':id': incidentId,
            ':entry': [{ ...entry, at: iso(entry.at) }],
            ':exp': t.expiresAt(),
          },
        })
      )
    );
  }

  async due(now: string, limit: number): Promise<IncidentRecord[]> {
    const t = this.#table;
    // The index is eventually consistent: each key is read again, and only
    // what is still open and due is returned.
    const out = await t.call('querying the incidents past their deadline', () =>
      t.client.send(
        new QueryCommand({
          TableName: t.name,
          IndexName: DUE_INDEX,
          KeyConditionExpression: 'openShard = :open AND #due <= :now',
          ExpressionAttributeNames: { '#due': 'due' },
          ExpressionAttributeValues: { ':open': DUE_SHARD, ':now': iso(now) },
          Limit: limit,
        })
      )
    );
    const records: IncidentRecord[] = [];
    for (const item of out.Items ?? []) {
      const record = await this.#getByPk(String(item.pk));
      if (
        record?.status === 'open' &&
        record.due !== undefined &&
        record.due <= iso(now)
      ) {
        records.push(record);
      }
    }
    return records;
  }
}
