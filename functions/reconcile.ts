import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { runModeOf } from '../core/context.ts';
import { reconcile } from '../core/reconcile.ts';
import { logger, metrics, tracer } from './_shared/powertools.ts';
import {
  incidentStore,
  nodeCommands,
  nodeDirectory,
  rollLocks,
  rollouts,
  type Wiring,
  type WiringOverrides,
  wire,
} from './_shared/wiring.ts';

/** The ports the reconciler drives incidents with. */
const ports = (w: Wiring) => ({
  incidents: incidentStore(w),
  locks: rollLocks(w),
  nodes: nodeDirectory(w),
  commands: nodeCommands(w),
  rollouts: rollouts(w),
});

/**
 * The reconciler: an EventBridge schedule (every few minutes) runs one pass
 * over the live incidents past their deadline (core/reconcile.ts). "Now" is
 * the later of the schedule's time and the clock: a late invocation never
 * looks at the past. A pass in which an incident could not be driven fails
 * the invocation after the others were driven, so the function's Errors
 * alarm tells on-call; the incident stays due and the next pass tries it
 * again.
 */
const reconcileWith =
  (dependencies: ReturnType<typeof wire<ReturnType<typeof ports>>>) =>
  async (event: ScheduledEvent, _context: Context) => {
    const deps = dependencies();
    const now = new Date(
      Math.max(Date.parse(event.time) || 0, deps.clock.now().getTime())
    );
    const run = await runModeOf({ id: event.id }, deps.control);
    const report = await reconcile(
      now,
      run,
      {
        ...deps,
        maxWatchLooks: deps.config.watch.maxLooks,
      },
      deps.config.reconcileBatch
    );
    metrics.addMetric('IncidentsPastDeadline', MetricUnit.Count, report.looked);
    metrics.addMetric(
      'IncidentsReconciled',
      MetricUnit.Count,
      report.driven.length
    );
    logger.info('reconciled', {
      mode: run.mode,
      now: now.toISOString(),
      looked: report.looked,
      driven: report.driven,
      failed: report.failed,
    });
    if (report.failed.length) {
      metrics.addMetric(
        'ReconcileFailures',
        MetricUnit.Count,
        report.failed.length
      );
      throw new Error(
        `the reconciler could not drive ${report.failed.length} incident(s): ${report.failed
          .map((f) => `${f.incidentId}: ${f.error}`)
          .join('; ')}`.slice(0, 4000)
      );
    }
    return report;
  };

/**
 * The reconciler's handler, with Lambda's environment or with the
 * overrides of the local runtime or a test.
 */
export const definition = {
  name: 'reconcile',
  handler: (overrides: WiringOverrides = {}) =>
    middy(reconcileWith(wire(ports, overrides)))
      .use(injectLambdaContext(logger, { clearState: true }))
      .use(logMetrics(metrics))
      .use(captureLambdaHandler(tracer)),
};

export const handler = definition.handler();
