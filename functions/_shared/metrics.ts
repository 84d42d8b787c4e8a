import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Emitted } from '../../core/ports.ts';
import { DETAIL_TYPES } from '../../events/detail-types.ts';
import { metrics } from './powertools.ts';

/**
 * Counts what a function decided, as the dashboard reads it (namespace
 * pullmedic, dimension service): incidents by class, prunes and bytes
 * freed, rolls started, completed and failed, escalations, resolutions
 * and the time to recovery. Dry-run decisions count only as
 * DryRunDecisions.
 *
 * @example
 * ```ts
 * recordDecisions(emitted);
 * ```
 */
export function recordDecisions(emitted: readonly Emitted[]): void {
  for (const e of emitted) {
    // A replay for a postmortem, or dry-run mode: nothing was done, so it
    // counts apart and the dashboard shows only what touched the fleet.
    if ('dryRun' in e.detail && e.detail.dryRun === true) {
      metrics.addMetric('DryRunDecisions', MetricUnit.Count, 1);
      continue;
    }
    switch (e.detailType) {
      case DETAIL_TYPES.incidentOpened: {
        // One metric with its own class dimension, so the dashboard can
        // split incidents by class without multiplying the others.
        const single = metrics.singleMetric();
        single.addDimension('class', e.detail.class);
        single.addMetric('IncidentsOpened', MetricUnit.Count, 1);
        break;
      }
      case DETAIL_TYPES.nodePruneCompleted: {
        metrics.addMetric('NodePruneCompleted', MetricUnit.Count, 1);
        const report = e.detail.report;
        if (report) {
          metrics.addMetric(
            'BytesFreed',
            MetricUnit.Bytes,
            Math.max(0, report.bytesFreed)
          );
        }
        break;
      }
      case DETAIL_TYPES.volumeRollCompleted:
        metrics.addMetric(
          e.detail.succeeded ? 'VolumeRollCompleted' : 'VolumeRollFailed',
          MetricUnit.Count,
          1
        );
        break;
      case DETAIL_TYPES.incidentResolved:
        metrics.addMetric('IncidentResolved', MetricUnit.Count, 1);
        metrics.addMetric(
          'TimeToRecovery',
          MetricUnit.Seconds,
          e.detail.mttrSeconds
        );
        break;
      default:
        metrics.addMetric(
          e.detailType.replace(/\s+/g, ''),
          MetricUnit.Count,
          1
        );
    }
  }
}
