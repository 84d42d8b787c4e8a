import {
  BatchProcessor,
  EventType,
  processPartialResponse,
} from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parse } from '@aws-lambda-powertools/parser';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { type RunMode, runModeOf } from '../../core/context.ts';
import {
  isPermanentFailure,
  MalformedEventError,
  messageOf,
} from '../../core/errors.ts';
import type { Stamped } from '../../core/notification-order.ts';
import type { Emitted } from '../../core/ports.ts';
import { type Envelope, envelopeOf } from '../../events/schemas.ts';
import type { Decider, Decisions } from './decisions.ts';
import { recordDecisions } from './metrics.ts';
import { logger, metrics, tracer } from './powertools.ts';
import {
  type BaseDependencies,
  type Wiring,
  type WiringOverrides,
  wire,
} from './wiring.ts';

/**
 * What a use case returns: the events to emit, or also a request to look
 * at the same event again later (a rollout being followed).
 */
export type Outcome =
  | Emitted[]
  | { emitted: Emitted[]; lookAgainInSeconds?: number };

/** What a function does with one valid event: call the core, return what to emit. */
export type UseCase<T, D extends BaseDependencies> = (
  event: Envelope & { detail: T },
  run: RunMode,
  deps: D,
  /** How many times this event was looked at before (requeued). */
  looks: number
) => Promise<Outcome>;

/**
 * The keys that tie a log line to its event. Passed with each line, never
 * appended to the shared logger: records of a batch are handled at once,
 * and appended keys would land on another record's lines.
 *
 * @example
 * ```ts
 * logger.info('processed', { ...recordKeys(event), mode: 'auto' });
 * ```
 */
export const recordKeys = (event: Envelope) => ({
  eventId: event.id,
  detailType: event['detail-type'],
});

/**
 * Explains a zod failure in one line: each issue's path and message.
 *
 * @example
 * ```ts
 * describeIssues(error); // 'detail.event.source.host: node name must be …'
 * ```
 */
export const describeIssues = (
  issues: readonly {
    message: string;
    path?: readonly (PropertyKey | { key: PropertyKey })[];
  }[]
): string =>
  issues
    .slice(0, 5)
    .map((i) => {
      const path = (i.path ?? [])
        .map((p) => String(typeof p === 'object' ? p.key : p))
        .join('.');
      return `${path || '(root)'}: ${i.message}`;
    })
    .join('; ');

/**
 * A JSON string holding a value of `schema`: Powertools' JSONStringified,
 * without its module, which imports zod's `z` namespace whole and so put
 * every zod export (JSON Schema, every locale) into each bundle.
 */
const jsonStringOf = <T extends z.ZodMiniType>(schema: T) =>
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((text, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch (error) {
          ctx.issues.push({
            code: 'custom',
            message: `Invalid JSON - ${messageOf(error)}`,
            input: text,
            continue: false,
          });
          return z.NEVER;
        }
      })
    ),
    schema
  );

/**
 * A parser of SQS records as EventBridge events with the given detail
 * schema, built once per handler. It throws MalformedEventError with a
 * reason a person can act on.
 *
 * @example
 * ```ts
 * const parseRecordBody = recordBodyParser(KubernetesEventDetail);
 * const event = parseRecordBody(record.body);
 * ```
 */
export function recordBodyParser<T extends z.ZodMiniType>(detail: T) {
  // Powertools' parser: the body is a JSON string holding an EventBridge
  // envelope whose detail has the function's contract. Our own envelope
  // schema, because moto's deliveries (unlike AWS's) carry no `account`.
  const schema = jsonStringOf(envelopeOf(detail));
  return (body: string): Envelope & { detail: z.infer<T> } => {
    const parsed = parse(body, undefined, schema, true);
    if (!parsed.success) {
      const cause = parsed.error.cause;
      const issues = Array.isArray(cause)
        ? describeIssues(cause)
        : parsed.error.message;
      const what = /Invalid JSON/i.test(issues)
        ? 'the message is not JSON'
        : 'the event does not match its contract';
      throw new MalformedEventError(`${what}: ${issues}`, {
        cause: parsed.error,
      });
    }
    return parsed.data as Envelope & { detail: z.infer<T> };
  };
}

/**
 * Whether a failed record goes to the dead-letter queue now, with its
 * reason, instead of back to the queue:
 * - malformed (the envelope, or what the use case reads of the detail):
 *   retrying cannot mend it;
 * - a failure that will never pass (AccessDenied, a vanished resource)
 *   that the use case could not turn into an escalation;
 * - a failure on the last receive the queue allows: the queue would move
 *   it to the same dead-letter queue without saying why; the handler
 *   moves it itself, with the error as the reason.
 *
 * @example
 * ```ts
 * deadLetterVerdict(new MalformedEventError('…'), record, 3);
 * // { reason: 'the event does not match its contract: …', metric: 'MalformedEvents' }
 * ```
 */
export function deadLetterVerdict(
  err: unknown,
  record: Pick<SQSRecord, 'attributes'>,
  maxReceiveCount: number
): { reason: string; metric: string } | undefined {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof MalformedEventError) {
    return { reason: message, metric: 'MalformedEvents' };
  }
  if (isPermanentFailure(err)) {
    return {
      reason: `a failure retrying cannot mend: ${message}`,
      metric: 'PermanentFailures',
    };
  }
  const receives = Number(record.attributes?.ApproximateReceiveCount ?? 1);
  if (receives >= maxReceiveCount) {
    return {
      reason: `failed on each of ${receives} deliveries; the last: ${message}`,
      metric: 'RetriesExhausted',
    };
  }
  return undefined;
}

export interface HandlerOptions<D = BaseDependencies> {
  /**
   * Handle a batch's records one at a time, sorted by this order of their
   * events (time and detail-type), instead of all at once.
   */
  inOrder?: (a: Stamped, b: Stamped) => number;
  /**
   * The dependencies one batch's records share, derived from the
   * function's for each invocation (a read the records share, say). Only
   * for records handled all at once: a read shared with a record handled
   * after the others would be older than that record.
   */
  perBatch?: (deps: D) => D;
}

/**
 * The records sorted by their events. A body that cannot be read sorts
 * last and is dead-lettered by the record handler as usual.
 */
function inOrderOf(
  records: SQSRecord[],
  order: (a: Stamped, b: Stamped) => number
): SQSRecord[] {
  const stamped = records.map((record) => {
    try {
      const body = JSON.parse(record.body) as Record<string, unknown>;
      return {
        record,
        time: String(body.time ?? ''),
        detailType: String(body['detail-type'] ?? ''),
      };
    } catch {
      return { record, time: '', detailType: '' };
    }
  });
  return stamped.sort(order).map((s) => s.record);
}

/** The Lambda handler of a function fed by its SQS queue (middy's). */
export type QueueHandler = ReturnType<
  typeof eventBridgeQueueHandler<z.ZodMiniType, BaseDependencies>
>;

/**
 * One function fed by an SQS queue that an EventBridge rule fills: its
 * name, and its handler, built with Lambda's environment or with the
 * overrides of the local runtime or a test (their settings, their SDK
 * client hook). Nothing of either is in the Lambda bundle.
 */
export interface QueueFunction {
  name: string;
  handler(overrides?: WiringOverrides): QueueHandler;
}

/**
 * Defines a Lambda function for an SQS queue that an EventBridge rule
 * feeds. Thin on purpose: parse, call the core, emit. A malformed record is
 * dead-lettered with its reason and acknowledged; any other failure fails
 * that record only (partial batch response), so SQS retries it, and the
 * last delivery the queue allows is dead-lettered with its reason.
 *
 * @example
 * ```ts
 * export const definition = queueFunction({
 *   name: 'classify',
 *   detail: KubernetesEventInput,
 *   ports: (w) => ({ nodes: nodeDirectory(w) }),
 *   useCase: (event, run, deps) => classifyKubernetesEvent(event.detail, event.time, run, deps),
 * });
 * export const handler = definition.handler();
 * ```
 */
export function queueFunction<T extends z.ZodMiniType, P extends object>(spec: {
  name: string;
  detail: T;
  ports: (wiring: Wiring) => P;
  useCase: UseCase<z.infer<T>, BaseDependencies & P>;
  /** Whether a redelivery gets the first decision back or a new one. */
  decisions: Decisions;
  options?: HandlerOptions<BaseDependencies & P>;
}): QueueFunction {
  return {
    name: spec.name,
    handler: (overrides = {}) =>
      eventBridgeQueueHandler(
        spec.name,
        spec.detail,
        wire(spec.ports, overrides),
        spec.decisions(spec.name, spec.useCase),
        spec.options
      ),
  };
}

/** The handler of one function: see queueFunction. */
function eventBridgeQueueHandler<
  T extends z.ZodMiniType,
  D extends BaseDependencies,
>(
  functionName: string,
  detail: T,
  dependencies: () => D,
  decider: Decider<z.infer<T>, D>,
  options: HandlerOptions<D> = {}
) {
  if (options.perBatch && options.inOrder) {
    throw new Error(
      `${functionName}: perBatch shares reads among records handled at once, and inOrder handles them one after the other`
    );
  }
  const processor = new BatchProcessor(EventType.SQS);
  const parseRecordBody = recordBodyParser(detail);
  /** Parses one record and acts on it; a malformed one throws MalformedEventError. */
  const handleRecord = async (record: SQSRecord, deps: D): Promise<void> => {
    const event = parseRecordBody(record.body);
    const run = await runModeOf(event, deps.control);
    const looks = Number(record.messageAttributes?.looks?.stringValue ?? 0);
    const outcome = await decider.decide(event, run, deps, looks);
    const emitted = outcome.emitted;
    if (emitted.length) await deps.publisher.publish(emitted);
    if (outcome.lookAgainInSeconds !== undefined) {
      // SQS holds the same event back for the delay: no scheduler needed.
      await deps
        .requeue()
        .send(record.body, outcome.lookAgainInSeconds, looks + 1);
    }
    recordDecisions(emitted);
    logger.info('processed', {
      ...recordKeys(event),
      mode: run.mode,
      dryRun: run.dryRun,
      emitted: emitted.map((e) => e.detailType),
    });
  };

  const recordHandler = async (record: SQSRecord, deps: D): Promise<void> => {
    metrics.addMetric('RecordsReceived', MetricUnit.Count, 1);
    try {
      await handleRecord(record, deps);
    } catch (err) {
      const verdict = deadLetterVerdict(
        err,
        record,
        deps.config.maxReceiveCount
      );
      // Anything else fails this record only: SQS delivers it again.
      if (verdict === undefined) throw err;
      logger.warn('dead-lettering an event', {
        messageId: record.messageId,
        reason: verdict.reason,
      });
      metrics.addMetric(verdict.metric, MetricUnit.Count, 1);
      await deps.deadLetters().send(record.body, verdict.reason, functionName);
    }
  };

  const lambdaHandler = async (event: SQSEvent, context: Context) => {
    decider.invoked?.(context);
    const shared = dependencies();
    const deps = options.perBatch?.(shared) ?? shared;
    const handle = (record: SQSRecord) => recordHandler(record, deps);
    const { inOrder } = options;
    if (inOrder === undefined) {
      return processPartialResponse(event, handle, processor, { context });
    }
    // One record after the other, in the order asked for: the failures
    // are still reported by message id, so the order changes nothing else.
    return processPartialResponse(
      { Records: inOrderOf(event.Records, inOrder) },
      handle,
      processor,
      { context, processInParallel: false }
    );
  };

  return middy(lambdaHandler)
    .use(injectLambdaContext(logger, { clearState: true }))
    .use(logMetrics(metrics))
    .use(captureLambdaHandler(tracer));
}
