import type { NoticeVerdict, RepeatNotices } from '#core/ports.ts';
import { wrapAwsError } from '../../adapters/aws/errors.ts';
import { FailurePlan } from './failure-plan.ts';

type Method = keyof RepeatNotices;

/**
 * A hand-written, in-memory RepeatNotices with the semantics of
 * DynamoDbRepeatNotices (the contract suite runs against both).
 *
 * @example
 * ```ts
 * const notices = new InMemoryRepeatNotices();
 * await notices.record('auth/prod/default/web', new Date(), 3600);
 * ```
 */
export class InMemoryRepeatNotices implements RepeatNotices {
  readonly #notices = new Map<
    string,
    { quietUntil: number; repeats: number }
  >();
  readonly failures = new FailurePlan<Method>();
  calls: Record<Method, unknown[][]> = { record: [], forget: [] };

  failWith(method: Method, error: Error): void {
    this.failures.always(method, error);
  }

  callCount(method: Method): number {
    return this.calls[method].length;
  }

  reset(): void {
    this.#notices.clear();
    this.failures.reset();
    this.calls = { record: [], forget: [] };
  }

  async record(
    key: string,
    now: Date,
    quietSeconds: number
  ): Promise<NoticeVerdict> {
    this.#enter('record', [key, now, quietSeconds]);
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
    this.#enter('forget', [key]);
    this.#notices.delete(key);
  }

  #enter(method: Method, args: unknown[]): void {
    this.calls[method].push(args);
    const error = this.failures.take(method);
    if (error) throw wrapAwsError(`${method} (in memory)`, error);
  }
}
