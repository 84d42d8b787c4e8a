import type { RollLocks } from '#core/ports.ts';
import { wrapAwsError } from '../../adapters/aws/errors.ts';
import { FailurePlan } from './failure-plan.ts';

/** One roll lock item. */
export interface LockItem {
  holder: string;
  acquiredAt: string;
  lockedUntil: number;
}

type Method = keyof RollLocks;

/**
 * A hand-written, in-memory RollLocks with the semantics of
 * DynamoDbRollLocks (the contract suite runs against both).
 *
 * @example
 * ```ts
 * const locks = new InMemoryRollLocks();
 * await locks.acquire('prod/gpu', 'incident-1', new Date(), 3600);
 * ```
 */
export class InMemoryRollLocks implements RollLocks {
  readonly #locks = new Map<string, LockItem>();
  readonly #rollsByHour = new Map<string, Set<string>>();
  readonly failures = new FailurePlan<Method>();
  calls: Record<Method, unknown[][]> = InMemoryRollLocks.#noCalls();

  static #noCalls(): Record<Method, unknown[][]> {
    return { acquire: [], release: [], countRoll: [] };
  }

  callCount(method: Method): number {
    return this.calls[method].length;
  }

  reset(): void {
    this.#locks.clear();
    this.#rollsByHour.clear();
    this.failures.reset();
    this.calls = InMemoryRollLocks.#noCalls();
  }

  /** The roll lock of a group, if any. */
  lock(groupKey: string): LockItem | undefined {
    const lock = this.#locks.get(groupKey);
    return lock ? { ...lock } : undefined;
  }

  /** How many rolls were counted in `now`'s hour. */
  counted(now: Date): number {
    return this.#rollsByHour.get(now.toISOString().slice(0, 13))?.size ?? 0;
  }

  async acquire(
    groupKey: string,
    holder: string,
    now: Date,
    cooldownSeconds: number
  ): Promise<{ acquired: true } | { acquired: false; heldBy: string }> {
    this.#enter('acquire', [groupKey, holder, now, cooldownSeconds]);
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
    this.#enter('release', [groupKey, holder, now]);
    // SET lockedUntil = :ended, on condition holder = :holder
    const lock = this.#locks.get(groupKey);
    if (lock?.holder !== holder) return;
    lock.lockedUntil = Math.floor(now.getTime() / 1000) - 1;
  }

  async countRoll(
    now: Date,
    limit: number,
    holder: string
  ): Promise<{ allowed: true } | { allowed: false; count: number }> {
    this.#enter('countRoll', [now, limit, holder]);
    // ADD rolls :one, holders :holder, on condition (rolls < :limit) AND
    // NOT contains(holders, :holder); a holder found there counts as allowed.
    const hour = now.toISOString().slice(0, 13);
    const holders = this.#rollsByHour.get(hour) ?? new Set<string>();
    if (holders.has(holder)) return { allowed: true };
    if (holders.size >= limit) return { allowed: false, count: holders.size };
    this.#rollsByHour.set(hour, holders.add(holder));
    return { allowed: true };
  }

  #enter(method: Method, args: unknown[]): void {
    this.calls[method].push(args);
    const error = this.failures.take(method);
    if (error) throw wrapAwsError(`${method} (in memory)`, error);
  }
}
