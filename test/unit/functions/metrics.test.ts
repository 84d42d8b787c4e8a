import { afterEach, describe, expect, it, vi } from 'vitest';
import { DETAIL_TYPES } from '../../../events/detail-types.ts';
import { recordDecisions } from '../../../functions/_shared/metrics.ts';
import { metrics } from '../../../functions/_shared/powertools.ts';
import { sampleDetail } from '../../helpers/bus.ts';

const opened = sampleDetail(DETAIL_TYPES.incidentOpened);
const pruned = sampleDetail(DETAIL_TYPES.nodePruneCompleted);
const report = pruned.report ?? expect.fail('the sample prune has a report');
const rolled = sampleDetail(DETAIL_TYPES.volumeRollCompleted);
const resolved = sampleDetail(DETAIL_TYPES.incidentResolved);
const started = sampleDetail(DETAIL_TYPES.volumeRollStarted);

describe('Function: recordDecisions', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('emits the metrics the dashboard reads, with incidents split by class', () => {
    // Prepare: the metric calls are observed, the metrics object is real.
    const added = vi.spyOn(metrics, 'addMetric');
    const single = { addDimension: vi.fn(), addMetric: vi.fn() };
    vi.spyOn(metrics, 'singleMetric').mockReturnValue(single as never);

    // Act
    recordDecisions([
      {
        detailType: DETAIL_TYPES.incidentOpened,
        detail: { ...opened, class: 'disk_full', dryRun: false },
      },
      {
        detailType: DETAIL_TYPES.nodePruneCompleted,
        detail: {
          ...pruned,
          report: { ...report, bytesFreed: 1024 },
          dryRun: false,
        },
      },
      {
        detailType: DETAIL_TYPES.nodePruneCompleted,
        detail: { ...pruned, report: null, dryRun: false },
      },
      {
        detailType: DETAIL_TYPES.volumeRollCompleted,
        detail: { ...rolled, succeeded: false, dryRun: false },
      },
      {
        detailType: DETAIL_TYPES.volumeRollCompleted,
        detail: { ...rolled, succeeded: true, dryRun: false },
      },
      {
        detailType: DETAIL_TYPES.incidentResolved,
        detail: { ...resolved, mttrSeconds: 95, dryRun: false },
      },
      {
        detailType: DETAIL_TYPES.volumeRollStarted,
        detail: { ...started, dryRun: false },
      },
    ]);

    // Assess
    expect(single.addDimension).toHaveBeenCalledWith('class', 'disk_full');
    expect(single.addMetric).toHaveBeenCalledWith(
      'IncidentsOpened',
      'Count',
      1
    );
    expect(added.mock.calls).toEqual([
      ['NodePruneCompleted', 'Count', 1],
      ['BytesFreed', 'Bytes', 1024],
      ['NodePruneCompleted', 'Count', 1],
      ['VolumeRollFailed', 'Count', 1],
      ['VolumeRollCompleted', 'Count', 1],
      ['IncidentResolved', 'Count', 1],
      ['TimeToRecovery', 'Seconds', 95],
      ['VolumeRollStarted', 'Count', 1],
    ]);
  });

  it('counts dry-run decisions apart, and not as prunes, rolls or resolutions', () => {
    // Prepare
    const added = vi.spyOn(metrics, 'addMetric');
    const single = vi.spyOn(metrics, 'singleMetric');

    // Act
    recordDecisions([
      {
        detailType: DETAIL_TYPES.incidentOpened,
        detail: { ...opened, class: 'disk_full', dryRun: true },
      },
      {
        detailType: DETAIL_TYPES.nodePruneCompleted,
        detail: {
          ...pruned,
          report: { ...report, bytesFreed: 1024 },
          dryRun: true,
        },
      },
      {
        detailType: DETAIL_TYPES.incidentResolved,
        detail: { ...resolved, mttrSeconds: 95, dryRun: true },
      },
    ]);

    // Assess
    expect(single).not.toHaveBeenCalled();
    expect(added.mock.calls).toEqual([
      ['DryRunDecisions', 'Count', 1],
      ['DryRunDecisions', 'Count', 1],
      ['DryRunDecisions', 'Count', 1],
    ]);
  });
});
