import { describe, expect, it } from 'vitest';
import { PRUNE_RESULT_PREFIX, parsePruneReport } from '#core/prune-report.ts';
import {
  aPruneReport,
  pruneReportLine,
  pruneStdout,
} from '#test/helpers/fixtures.ts';

describe('Function: parsePruneReport', () => {
  it('returns the report when the output carries a result line', () => {
    // Act
    const report = parsePruneReport(pruneStdout());

    // Assess
    expect(report).toEqual(aPruneReport());
  });

  it('returns the last report when the output carries several result lines', () => {
    // Prepare
    const stdout = [
      pruneReportLine(aPruneReport({ imagesRemoved: 1 })),
      'retrying with ctr',
      `   ${pruneReportLine(aPruneReport({ imagesRemoved: 9, method: 'ctr' }))}   `,
      'done',
    ].join('\n');

    // Act
    const report = parsePruneReport(stdout);

    // Assess
    expect(report?.imagesRemoved).toBe(9);
    expect(report?.method).toBe('ctr');
  });

  it('fills the defaults when the result line leaves optional fields out', () => {
    // Prepare
    const {
      imagesRemovedRefs: _refs,
      pauseImage: _pause,
      leftoverSnapshotsRemoved: _left,
      tools: _tools,
      errors: _errors,
      ...minimal
    } = aPruneReport();

    // Act
    const report = parsePruneReport(pruneReportLine(minimal));

    // Assess
    expect(report).toEqual({
      ...minimal,
      imagesRemovedRefs: [],
      pauseImage: null,
      leftoverSnapshotsRemoved: 0,
      tools: {},
      errors: [],
    });
  });

  it('returns undefined when the last result line is not JSON', () => {
    // Prepare
    const stdout = `${pruneReportLine()}\n${PRUNE_RESULT_PREFIX}{"v":1,`;

    // Act
    const report = parsePruneReport(stdout);

    // Assess
    expect(report).toBeUndefined();
  });

  it('returns undefined when the result line does not match the schema', () => {
    // Prepare
    const stdout = pruneReportLine({ ...aPruneReport(), v: 2 });

    // Act
    const report = parsePruneReport(stdout);

    // Assess
    expect(report).toBeUndefined();
  });

  it('returns undefined when the output has no result line', () => {
    // Act
    const report = parsePruneReport('crictl: command not found\n');

    // Assess
    expect(report).toBeUndefined();
  });

  it('returns undefined when the output is empty', () => {
    // Act
    const report = parsePruneReport('');

    // Assess
    expect(report).toBeUndefined();
  });
});
