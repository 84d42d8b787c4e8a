import {
  FUNCTION_RULES,
  type FunctionName,
  patternsFor,
} from '../../events/patterns.ts';

/** The source and detail-type a rule's branch asks for; undefined: any. */
interface Branch {
  sources?: Set<string>;
  detailTypes?: Set<string>;
}

/** The values of a pattern field when they are all plain strings. */
const exactValues = (field: unknown): Set<string> | undefined =>
  Array.isArray(field) && field.every((v) => typeof v === 'string')
    ? new Set(field)
    : undefined;

/**
 * A rule's pattern, loosened to its sources and detail-types: an event
 * that matches the pattern matches one of these branches (the other fields
 * and any prefix or exists matcher are left out, so it may match more).
 */
function branchesOf(pattern: Record<string, unknown>): Branch[] {
  const or = pattern.$or;
  if (Array.isArray(or)) {
    return or.flatMap((b) => branchesOf({ ...pattern, $or: undefined, ...b }));
  }
  return [
    {
      sources: exactValues(pattern.source),
      detailTypes: exactValues(pattern['detail-type']),
    },
  ];
}

const matches = (branch: Branch, source: string, detailType: string) =>
  (branch.sources?.has(source) ?? true) &&
  (branch.detailTypes?.has(detailType) ?? true);

/**
 * Which function queues may hold messages, from what crossed the bus. A
 * poll of an empty queue costs a call, and under a storm most queues are
 * empty most of the time; a queue is only filled by the bus (its rule) or
 * by its own function (a record looked at again or failed). So a queue
 * found empty is skipped until the tap shows an event its rule could
 * route, and one that held messages is polled again. The check is loose on
 * purpose (sources and detail-types only), and the runner still polls
 * every queue before it calls the pipeline quiet: a skip can delay a
 * record, never lose one.
 *
 * @example
 * ```ts
 * const watch = new RouteWatch(QUEUE_FUNCTIONS);
 * watch.crossedBus('pullmedic', 'Image Pull Failure Classified');
 * if (watch.mayHold('remediate')) await poller.poll();
 * ```
 */
export class RouteWatch {
  readonly #routes: [FunctionName, Branch[]][];
  readonly #mayHold: Set<FunctionName>;

  constructor(functions: readonly FunctionName[]) {
    const patterns = patternsFor('local');
    this.#routes = functions.map((fn) => [
      fn,
      branchesOf(patterns[FUNCTION_RULES[fn]]),
    ]);
    this.#mayHold = new Set(functions);
  }

  /** An event the tap saw on the bus: the queues its rules could fill. */
  crossedBus(source: string, detailType: string): void {
    for (const [fn, branches] of this.#routes) {
      if (branches.some((b) => matches(b, source, detailType))) {
        this.#mayHold.add(fn);
      }
    }
  }

  /** The queue was polled: found empty, it is skipped until routed to. */
  polled(fn: FunctionName, received: number): void {
    if (received === 0) this.#mayHold.delete(fn);
    else this.#mayHold.add(fn);
  }

  mayHold(fn: FunctionName): boolean {
    return this.#mayHold.has(fn);
  }
}
