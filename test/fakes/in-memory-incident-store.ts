import { AwsCallError } from '#core/errors.ts';
import type {
  IncidentKey,
  IncidentRecord,
  IncidentStore,
  NoticeVerdict,
  OpenResult,
  RepeatNotices,
  RollLocks,
} from '#core/ports.ts';
import type { TimelineEntry } from '#events/schemas.ts';

/** The same cap as the DynamoDB store: a timeline keeps 200 entries. */
export const MAX_TIMELINE = 200;

/** ISO times with milliseconds, as the DynamoDB store writes them. */
const iso = (t: string): string => new Date(t).toISOString();

const incidentPk = (k: IncidentKey): string =>
  `INCIDENT#${k.scope}#${k.cluster}#${k.node}`;

/** The error DynamoDB raises when a condition fails. */
const conditionFailed = (): Error => {
  const err = new Error('The conditional request failed');
  err.name = 'ConditionalCheckFailedException';
  return err;
};

/** One incident item: the top-level attributes the conditions read, and the record. */
interface IncidentItem {
  incidentId: string;
  status: 'open' | 'resolved';
  resolvedAt?: string;
  record: IncidentRecord;
}

/** One roll lock item. */
export interface LockItem {
  holder: string;
  acquiredAt: string;
  lockedUntil: number;
}

type Method =
  | keyof IncidentStore
  | keyof RepeatNotices
  | 'acquire'
  | 'countRoll';

/**
 * A hand-written, in-memory IncidentStore and RollLocks with the semantics
 * of DynamoDbIncidentStore: conditional writes become checks on a Map, ISO
 * times are normalised the same way, the timeline is capped at 200 entries,
 * and failed conditions that the adapter turns into AwsCallError do so here.
 *
 * @example
 * ```ts
 * const incidents = new InMemoryIncidentStore();
 * incidents.failWith('claimPrune', new Error('throttled'));
 * ```
 */
export class InMemoryIncidentStore
  implements IncidentStore, RollLocks, RepeatNotices
{
  readonly #items = new Map<string, IncidentItem>();
  readonly #commands = new Map<
    string,
    { incidentPk: string; incidentId: string }
  >();
  readonly #locks = new Map<string, LockItem>();
  readonly #rollsByHour = new Map<string, number>();
  readonly #notices = new Map<
    string,
    { quietUntil: number; repeats: number }
  >();
  readonly #errors = new Map<Method, Error>();

  /** Every call's arguments, by method. */
  calls: {
    get: [IncidentKey][];
    openOrJoin: [IncidentRecord, string][];
    claimPrune: [IncidentKey, string, string][];
    claimRoll: [IncidentKey, string, string][];
    claimRollStart: [IncidentKey, string, string][];
    countRoll: [Date, number][];
    recordPruneCommand: [IncidentKey, string, string][];
    findByCommand: [string][];
    appendTimeline: [IncidentKey, string, TimelineEntry][];
    resolve: [IncidentKey, string, string, TimelineEntry][];
    acquire: [string, string, Date, number][];
    release: [string, string, Date][];
    record: [string, Date, number][];
    forget: [string][];
  } = InMemoryIncidentStore.#noCalls();

  static #noCalls(): InMemoryIncidentStore['calls'] {
    return {
      get: [],
      openOrJoin: [],
      claimPrune: [],
      claimRoll: [],
      claimRollStart: [],
      countRoll: [],
      recordPruneCommand: [],
      findByCommand: [],
      appendTimeline: [],
      resolve: [],
      acquire: [],
      release: [],
      record: [],
      forget: [],
    };
  }

  /** Makes every later call of `method` throw `error`. */
  failWith(method: Method, error: Error): void {
    this.#errors.set(method, error);
  }

  /** How many times `method` was called. */
  callCount(method: Method): number {
    return this.calls[method].length;
  }

  /** Forgets every incident, pointer, lock, call and configured error. */
  reset(): void {
    this.#items.clear();
    this.#commands.clear();
    this.#locks.clear();
    this.#rollsByHour.clear();
    this.#notices.clear();
    this.#errors.clear();
    this.calls = InMemoryIncidentStore.#noCalls();
  }

  /** Puts an incident as it would be after a successful open (test setup). */
  seed(record: IncidentRecord): void {
    this.#items.set(incidentPk(record.key), {
      incidentId: record.incidentId,
      status: record.status,
      ...(record.resolvedAt ? { resolvedAt: iso(record.resolvedAt) } : {}),
      record: structuredClone(record),
    });
  }

  /** Points a command id at an incident (test setup). */
  seedCommand(commandId: string, record: IncidentRecord): void {
    this.#commands.set(commandId, {
      incidentPk: incidentPk(record.key),
      incidentId: record.incidentId,
    });
  }

  /** Every stored incident record. */
  incidents(): IncidentRecord[] {
    return [...this.#items.values()].map((i) => structuredClone(i.record));
  }

  /** The roll lock of a group, if any. */
  lock(groupKey: string): LockItem | undefined {
    const lock = this.#locks.get(groupKey);
    return lock ? { ...lock } : undefined;
  }

  async get(key: IncidentKey): Promise<IncidentRecord | undefined> {
    this.calls.get.push([key]);
    this.#throwIfFailing('get');
    return this.#read(key);
  }

  async openOrJoin(
    candidate: IncidentRecord,
    eventTime: string
  ): Promise<OpenResult> {
    this.calls.openOrJoin.push([structuredClone(candidate), eventTime]);
    this.#throwIfFailing('openOrJoin');
    const pk = incidentPk(candidate.key);
    const item = this.#items.get(pk);
    const record = { ...candidate, openedAt: iso(candidate.openedAt) };
    // attribute_not_exists(pk) OR (#status = :resolved AND resolvedAt < :eventTime)
    if (
      item === undefined ||
      (item.status === 'resolved' &&
        item.resolvedAt !== undefined &&
        item.resolvedAt < iso(eventTime))
    ) {
      this.#items.set(pk, {
        incidentId: record.incidentId,
        status: 'open',
        record: structuredClone(record),
      });
      return { outcome: 'opened', incident: structuredClone(record) };
    }
    const existing = structuredClone(item.record);
    return existing.status === 'open'
      ? { outcome: 'joined', incident: existing }
      : { outcome: 'stale', incident: existing };
  }

  async claimPrune(
    key: IncidentKey,
    incidentId: string,
    at: string
  ): Promise<boolean> {
    this.calls.claimPrune.push([key, incidentId, at]);
    this.#throwIfFailing('claimPrune');
    return this.#claim(key, incidentId, 'pruneRequestedAt', at);
  }

  async claimRoll(
    key: IncidentKey,
    incidentId: string,
    at: string
  ): Promise<boolean> {
    this.calls.claimRoll.push([key, incidentId, at]);
    this.#throwIfFailing('claimRoll');
    return this.#claim(key, incidentId, 'rollRequestedAt', at);
  }

  async claimRollStart(
    key: IncidentKey,
    incidentId: string,
    at: string
  ): Promise<boolean> {
    this.calls.claimRollStart.push([key, incidentId, at]);
    this.#throwIfFailing('claimRollStart');
    return this.#claim(key, incidentId, 'rollStartedAt', at);
  }

  async recordPruneCommand(
    key: IncidentKey,
    incidentId: string,
    commandId: string
  ): Promise<void> {
    this.calls.recordPruneCommand.push([key, incidentId, commandId]);
    this.#throwIfFailing('recordPruneCommand');
    const item = this.#matching(key, incidentId, 'recording the prune command');
    item.record.pruneCommandId = commandId;
    this.#commands.set(commandId, { incidentPk: incidentPk(key), incidentId });
  }

  async findByCommand(commandId: string): Promise<IncidentRecord | undefined> {
    this.calls.findByCommand.push([commandId]);
    this.#throwIfFailing('findByCommand');
    const pointer = this.#commands.get(commandId);
    if (pointer === undefined) return undefined;
    const record = this.#items.get(pointer.incidentPk)?.record;
    return record?.incidentId === pointer.incidentId
      ? structuredClone(record)
      : undefined;
  }

  async appendTimeline(
    key: IncidentKey,
    incidentId: string,
    entry: TimelineEntry
  ): Promise<void> {
    this.calls.appendTimeline.push([key, incidentId, entry]);
    this.#throwIfFailing('appendTimeline');
    const item = this.#items.get(incidentPk(key));
    // Like the adapter: a superseded incident's step is dropped; bounded.
    if (
      item?.record.incidentId !== incidentId ||
      item.record.timeline.length >= MAX_TIMELINE
    ) {
      return;
    }
    item.record.timeline.push({ ...entry, at: iso(entry.at) });
  }

  async resolve(
    key: IncidentKey,
    incidentId: string,
    at: string,
    entry: TimelineEntry
  ): Promise<boolean> {
    this.calls.resolve.push([key, incidentId, at, entry]);
    this.#throwIfFailing('resolve');
    const item = this.#items.get(incidentPk(key));
    // incidentId = :id AND #status = :open
    if (item?.incidentId !== incidentId || item.status !== 'open') {
      return false;
    }
    item.status = 'resolved';
    item.resolvedAt = iso(at);
    item.record.status = 'resolved';
    item.record.resolvedAt = iso(at);
    item.record.timeline.push({ ...entry, at: iso(entry.at) });
    return true;
  }

  async acquire(
    groupKey: string,
    holder: string,
    now: Date,
    cooldownSeconds: number
  ): Promise<{ acquired: true } | { acquired: false; heldBy: string }> {
    this.calls.acquire.push([groupKey, holder, now, cooldownSeconds]);
    this.#throwIfFailing('acquire');
    const nowEpoch = Math.floor(now.getTime() / 1000);
    const lock = this.#locks.get(groupKey);
    // attribute_not_exists(pk) OR lockedUntil < :now OR holder = :holder
    if (
      lock === undefined ||
      lock.lockedUntil < nowEpoch ||
      lock.holder === holder
    ) {
      this.#locks.set(groupKey, {
        holder,
        acquiredAt: now.toISOString(),
        lockedUntil: nowEpoch + cooldownSeconds,
      });
      return { acquired: true };
    }
    return { acquired: false, heldBy: lock.holder };
  }

  async release(groupKey: string, holder: string, now: Date): Promise<void> {
    this.calls.release.push([groupKey, holder, now]);
    // SET lockedUntil = :ended, on condition holder = :holder
    const lock = this.#locks.get(groupKey);
    if (lock?.holder !== holder) return;
    lock.lockedUntil = Math.floor(now.getTime() / 1000) - 1;
  }

  async countRoll(
    now: Date,
    limit: number
  ): Promise<{ allowed: true } | { allowed: false; count: number }> {
    this.calls.countRoll.push([now, limit]);
    this.#throwIfFailing('countRoll');
    // ADD rolls :one, on condition attribute_not_exists(rolls) OR rolls < :limit
    const hour = now.toISOString().slice(0, 13);
    const count = this.#rollsByHour.get(hour) ?? 0;
    if (count >= limit) return { allowed: false, count };
    this.#rollsByHour.set(hour, count + 1);
    return { allowed: true };
  }

  async record(
    key: string,
    now: Date,
    quietSeconds: number
  ): Promise<NoticeVerdict> {
    this.calls.record.push([key, now, quietSeconds]);
    this.#throwIfFailing('record');
    const nowEpoch = Math.floor(now.getTime() / 1000);
    const notice = this.#notices.get(key);
    // attribute_not_exists(pk) OR quietUntil <= :now, returning the old item
    if (notice === undefined || notice.quietUntil <= nowEpoch) {
      this.#notices.set(key, {
        quietUntil: nowEpoch + quietSeconds,
        repeats: 0,
      });
      return { post: true, repeats: notice?.repeats ?? 0 };
    }
    notice.repeats += 1;
    return { post: false };
  }

  async forget(key: string): Promise<void> {
    this.calls.forget.push([key]);
    this.#throwIfFailing('forget');
    this.#notices.delete(key);
  }

  #read(key: IncidentKey): IncidentRecord | undefined {
    const item = this.#items.get(incidentPk(key));
    return item ? structuredClone(item.record) : undefined;
  }

  #claim(
    key: IncidentKey,
    incidentId: string,
    field: 'pruneRequestedAt' | 'rollRequestedAt' | 'rollStartedAt',
    at: string
  ): boolean {
    const item = this.#items.get(incidentPk(key));
    // incidentId = :id AND attribute_not_exists(#record.#field)
    if (item?.incidentId !== incidentId || item.record[field] !== undefined) {
      return false;
    }
    item.record[field] = iso(at);
    return true;
  }

  /** The item an `incidentId = :id` update may change, else the adapter's error. */
  #matching(
    key: IncidentKey,
    incidentId: string,
    action: string
  ): IncidentItem {
    const item = this.#items.get(incidentPk(key));
    if (item?.incidentId !== incidentId) {
      throw new AwsCallError(action, { cause: conditionFailed() });
    }
    return item;
  }

  #throwIfFailing(method: Method): void {
    const error = this.#errors.get(method);
    if (error) throw error;
  }
}
