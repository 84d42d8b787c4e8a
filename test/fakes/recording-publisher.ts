import type { Emitted, EventPublisher } from '#core/ports.ts';
import { wrapAwsError } from '../../adapters/aws/errors.ts';
import { parseDetail } from '../../events/contracts.ts';
import { FailurePlan } from './failure-plan.ts';

/**
 * A hand-written EventPublisher that keeps what was put on the bus, in
 * order; `failures` makes a publish throw (nothing of it is kept). Each
 * detail must pass its detail-type's schema, as a rule's consumer would
 * read it: a publish of one that does not throws, naming the issues.
 *
 * @example
 * ```ts
 * const publisher = new RecordingPublisher();
 * await publisher.publish(emitted);
 * publisher.published; // emitted
 * ```
 */
export class RecordingPublisher implements EventPublisher {
  readonly published: Emitted[] = [];
  readonly failures = new FailurePlan<'publish'>();

  async publish(events: Emitted[]): Promise<void> {
    const error = this.failures.take('publish');
    if (error) throw wrapAwsError('putting events (in memory)', error);
    for (const e of events) {
      const parsed = parseDetail(e.detailType, e.detail);
      if (!parsed.success) {
        throw new Error(
          `${e.detailType} does not match its contract: ${parsed.error.message}`
        );
      }
    }
    this.published.push(...structuredClone(events));
  }

  /** The detail-types published, in order. */
  types(): string[] {
    return this.published.map((e) => e.detailType);
  }

  reset(): void {
    this.published.length = 0;
    this.failures.reset();
  }
}
