import type { Emitted, EventPublisher } from '#core/ports.ts';
import { wrapAwsError } from '../../adapters/aws/errors.ts';
import { FailurePlan } from './failure-plan.ts';

/**
 * A hand-written EventPublisher that keeps what was put on the bus, in
 * order; `failures` makes a publish throw (nothing of it is kept).
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
