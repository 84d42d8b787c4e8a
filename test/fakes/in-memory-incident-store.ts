import { stepsBefore } from '#core/incident-steps.ts';
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
} from '#core/ports.ts';
import {
  MAX_PODS_PER_REQUEST,
  type PodRef,
  type TimelineEntry,
} from '#events/schemas.ts';
import { wrapAwsError } from '../../adapters/aws/errors.ts';
import { FailurePlan } from './failure-plan.ts';

/** The same cap as the DynamoDB store: a timeline keeps 200 entries. */
export const MAX_TIMELINE = 200;

/** The entry's event already put this step on the timeline. */
const hasStep = (timeline: TimelineEntry[], entry: TimelineEntry) =>
  entry.eventId !== undefined &&
  timeline.some((t) => t.eventId === entry.eventId && t.step === entry.step);

/** ISO times with milliseconds, as the DynamoDB store writes them. */
const iso = (t: string): string => new Date(t).toISOString();

const incidentPk = (k: IncidentKey): string =>
  `INCIDENT#${k.scope}#${k.cluster}#${k.node}`;

/** One incident item: the top-level attributes the conditions read, and the record. */
interface IncidentItem {
  incidentId: string;
  status: 'open' | 'resolved';
  resolvedAt?: string;
  record: IncidentRecord;
}

type Method = keyof IncidentStore;

/**
 * A hand-written, in-memory IncidentStore with the semantics of
 * DynamoDbIncidentStore: conditional writes become checks on a Map, ISO
 * times are normalised the same way, the timeline is capped at 200
 * entries, and only live incidents with a deadline are found by `due`. The
 * contract suite (test/contracts/incident-store.contract.ts) runs against
 * both, so the two cannot drift apart.
 *
 * @example
 * ```ts
 * const incidents = new InMemoryIncidentStore();
 * incidents.failures.once('advance', throttled());
 * ```
 */
export class InMemoryIncidentStore implements IncidentStore {
  readonly #items = new Map<string, IncidentItem>();
  readonly #pointers = new Map<
    string,
    { incidentPk: string; incidentId: string }
  >();
  /** Failures to inject, by method. */
  readonly failures = new FailurePlan<Method>();
  /** Every call's arguments, by method. */
  calls: Record<Method, unknown[][]> = InMemoryIncidentStore.#noCalls();

  static #noCalls(): Record<Method, unknown[][]> {
    return {
      get: [],
      openOrJoin: [],
      advance: [],
      progress: [],
      pointIntent: [],
      pointCommand: [],
      findByCommand: [],
      findByIntent: [],
      appendTimeline: [],
      notePod: [],
      resolve: [],
      due: [],
    };
  }

  /** Makes every later call of `method` throw `error`. */
  failWith(method: Method, error: Error): void {
    this.failures.always(method, error);
  }

  /** How many times `method` was called. */
  callCount(method: Method): number {
    return this.calls[method].length;
  }

  /** Forgets every incident, pointer, call and configured error. */
  reset(): void {
    this.#items.clear();
    this.#pointers.clear();
    this.failures.reset();
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
    this.#pointers.set(`COMMAND#${commandId}`, {
      incidentPk: incidentPk(record.key),
      incidentId: record.incidentId,
    });
  }

  /** Every stored incident record. */
  incidents(): IncidentRecord[] {
    return [...this.#items.values()].map((i) => structuredClone(i.record));
  }

  async get(key: IncidentKey): Promise<IncidentRecord | undefined> {
    this.#enter('get', [key]);
    return this.#read(incidentPk(key));
  }

  async openOrJoin(
    candidate: IncidentRecord,
    eventTime: string
  ): Promise<OpenResult> {
    this.#enter('openOrJoin', [structuredClone(candidate), eventTime]);
    const pk = incidentPk(candidate.key);
    const item = this.#items.get(pk);
    const record: IncidentRecord = {
      ...structuredClone(candidate),
      openedAt: iso(candidate.openedAt),
      ...(candidate.due ? { due: iso(candidate.due) } : {}),
    };
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

  async advance(
    key: IncidentKey,
    incidentId: string,
    move: Move
  ): Promise<Advance> {
    this.#enter('advance', [key, incidentId, structuredClone(move)]);
    const item = this.#items.get(incidentPk(key));
    // incidentId = :id AND #status = :open AND #record.#step IN (:from…)
    if (
      item?.incidentId === incidentId &&
      item.status === 'open' &&
      stepsBefore(move.to).includes(item.record.step)
    ) {
      const r = item.record;
      r.step = move.to;
      r.stepBy = move.by;
      this.#setDue(r, key, move.due);
      if (move.prune) r.prune = structuredClone(move.prune);
      if (move.roll) r.roll = structuredClone(move.roll);
      if (move.outbox) r.outbox = structuredClone(move.outbox);
      if (move.entry)
        r.timeline.push({ ...move.entry, at: iso(move.entry.at) });
      return { outcome: 'moved', incident: structuredClone(r) };
    }
    const incident = item ? structuredClone(item.record) : undefined;
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
    this.#enter('progress', [key, incidentId, by, structuredClone(patch)]);
    const item = this.#items.get(incidentPk(key));
    // incidentId = :id AND #record.stepBy = :by
    if (item?.incidentId !== incidentId || item.record.stepBy !== by) {
      return false;
    }
    const r = item.record;
    this.#setDue(r, key, patch.due);
    if (patch.prune) r.prune = structuredClone(patch.prune);
    if (patch.roll) r.roll = structuredClone(patch.roll);
    if (patch.outbox === null) delete r.outbox;
    else if (patch.outbox) r.outbox = structuredClone(patch.outbox);
    return true;
  }

  async pointIntent(key: IncidentKey, incidentId: string, intentId: string) {
    this.#enter('pointIntent', [key, incidentId, intentId]);
    this.#pointers.set(`INTENT#${intentId}`, {
      incidentPk: incidentPk(key),
      incidentId,
    });
  }

  async pointCommand(key: IncidentKey, incidentId: string, commandId: string) {
    this.#enter('pointCommand', [key, incidentId, commandId]);
    this.#pointers.set(`COMMAND#${commandId}`, {
      incidentPk: incidentPk(key),
      incidentId,
    });
  }

  async findByCommand(commandId: string): Promise<IncidentRecord | undefined> {
    this.#enter('findByCommand', [commandId]);
    return this.#follow(`COMMAND#${commandId}`);
  }

  async findByIntent(intentId: string): Promise<IncidentRecord | undefined> {
    this.#enter('findByIntent', [intentId]);
    const record = this.#follow(`INTENT#${intentId}`);
    return record?.prune?.intentId === intentId ? record : undefined;
  }

  async appendTimeline(
    key: IncidentKey,
    incidentId: string,
    entry: TimelineEntry,
    // The adapter's read it spares; the fake always reads its own items.
    _current?: IncidentRecord
  ): Promise<void> {
    this.#enter('appendTimeline', [key, incidentId, entry]);
    const item = this.#items.get(incidentPk(key));
    // Like the adapter: a superseded incident's step is dropped; bounded;
    // an event's step is there once.
    if (
      item?.record.incidentId !== incidentId ||
      item.record.timeline.length >= MAX_TIMELINE ||
      hasStep(item.record.timeline, entry)
    ) {
      return;
    }
    item.record.timeline.push({ ...entry, at: iso(entry.at) });
  }

  async notePod(
    key: IncidentKey,
    incidentId: string,
    pod: PodRef
  ): Promise<void> {
    this.#enter('notePod', [key, incidentId, pod]);
    const item = this.#items.get(incidentPk(key));
    // incidentId = :id AND NOT contains(notedPods, :podKey)
    //   AND size(record.pods) < :max
    const pods = item?.record.pods ?? [];
    if (
      item?.record.incidentId !== incidentId ||
      pods.some((p) => p.namespace === pod.namespace && p.name === pod.name) ||
      pods.length >= MAX_PODS_PER_REQUEST
    ) {
      return;
    }
    item.record.pods = [...pods, { namespace: pod.namespace, name: pod.name }];
  }

  async resolve(
    key: IncidentKey,
    incidentId: string,
    at: string,
    entry: TimelineEntry
  ): Promise<boolean> {
    this.#enter('resolve', [key, incidentId, at, entry]);
    const item = this.#items.get(incidentPk(key));
    // incidentId = :id AND #status = :open
    if (item?.incidentId !== incidentId || item.status !== 'open') {
      return false;
    }
    item.status = 'resolved';
    item.resolvedAt = iso(at);
    item.record.status = 'resolved';
    item.record.resolvedAt = iso(at);
    item.record.step = 'resolved';
    delete item.record.due;
    item.record.timeline.push({ ...entry, at: iso(entry.at) });
    return true;
  }

  async due(now: string, limit: number): Promise<IncidentRecord[]> {
    this.#enter('due', [now, limit]);
    return [...this.#items.values()]
      .map((i) => i.record)
      .filter(
        (r) =>
          r.key.scope === 'live' &&
          r.status === 'open' &&
          r.due !== undefined &&
          r.due <= iso(now)
      )
      .sort((a, b) => (a.due as string).localeCompare(b.due as string))
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  /** Sets or clears the deadline; only live incidents carry one. */
  #setDue(r: IncidentRecord, key: IncidentKey, due: string | null | undefined) {
    if (due === undefined) return;
    if (due === null || key.scope !== 'live') delete r.due;
    else r.due = iso(due);
  }

  #follow(pointerKey: string): IncidentRecord | undefined {
    const pointer = this.#pointers.get(pointerKey);
    if (pointer === undefined) return undefined;
    const record = this.#items.get(pointer.incidentPk)?.record;
    return record?.incidentId === pointer.incidentId
      ? structuredClone(record)
      : undefined;
  }

  #read(pk: string): IncidentRecord | undefined {
    const item = this.#items.get(pk);
    return item ? structuredClone(item.record) : undefined;
  }

  /** Records the call, then throws what the failure plan says, as the adapter would. */
  #enter(method: Method, args: unknown[]): void {
    this.calls[method].push(args);
    const error = this.failures.take(method);
    if (error) throw wrapAwsError(`${method} (in memory)`, error);
  }
}
