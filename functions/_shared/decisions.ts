import type { Context } from 'aws-lambda';
import type { RunMode } from '../../core/context.ts';
import type { Emitted } from '../../core/ports.ts';
import type { Envelope } from '../../events/schemas.ts';
import type { Outcome, UseCase } from './eventbridge-queue-handler.ts';
import type { BaseDependencies } from './wiring.ts';

/** What a use case decided for one event: what to emit, and whether to look again. */
export interface Decision {
  emitted: Emitted[];
  lookAgainInSeconds?: number;
}

/**
 * A use case's outcome as a decision, as a stored one is handed back:
 * plain JSON (details hold undefined fields, which DynamoDB cannot
 * marshal), so a kept decision and a fresh one look the same.
 */
export const asDecision = (outcome: Outcome): Decision =>
  JSON.parse(
    JSON.stringify(Array.isArray(outcome) ? { emitted: outcome } : outcome)
  );

/** How one function's handler gets its use case's decision for a record. */
export interface Decider<T, D extends BaseDependencies> {
  decide(
    event: Envelope & { detail: T },
    run: RunMode,
    deps: D,
    looks: number
  ): Promise<Decision>;
  /** Told of each invocation's Lambda context, before its records. */
  invoked?(context: Context): void;
}

/**
 * Whether a function keeps its decisions: `keptDecisions`
 * (functions/_shared/kept-decisions.ts) stores each one so a redelivery
 * gets it back, `decidedAnew` decides again. Each function names its
 * choice, and only those that keep decisions carry Powertools
 * idempotency and its JMESPath engine in their bundles.
 */
export type Decisions = <T, D extends BaseDependencies>(
  functionName: string,
  useCase: UseCase<T, D>
) => Decider<T, D>;

/**
 * Every delivery decided again: for a use case that only reads and emits,
 * or whose writes are conditional, so a redelivery decides the same way
 * (a kept decision costs two writes an event).
 *
 * @example
 * ```ts
 * queueFunction({ name: 'classify', decisions: decidedAnew, … });
 * ```
 */
export const decidedAnew: Decisions = (_functionName, useCase) => ({
  decide: async (event, run, deps, looks) =>
    asDecision(await useCase(event, run, deps, looks)),
});
