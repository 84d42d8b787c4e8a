import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  PRUNE_RESULT_PREFIX,
  parsePruneReport,
} from '#core/prune-report.ts';
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

describe('Function: formatBytes', () => {
  it('returns whole bytes when the value is under 1 KiB', () => {
    // Act
    const texts = [0, 1023].map(formatBytes);

    // Assess
    expect(texts).toEqual(['0 B', '1023 B']);
  });

  it('returns one decimal in the largest unit that keeps the value at or above 1', () => {
    // Act
    const texts = [1536, 5 * 1024 ** 2, 16 * 1024 ** 3, 2 * 1024 ** 4].map(
      formatBytes
    );

    // Assess
    expect(texts).toEqual(['1.5 KiB', '5.0 MiB', '16.0 GiB', '2.0 TiB']);
  });

  it('returns TiB when the value is beyond the largest unit', () => {
    // Act
    const text = formatBytes(3 * 1024 ** 5);

    // Assess
    expect(text).toBe('3072.0 TiB');
  });

  it('returns a minus sign when the value is negative', () => {
    // Act
    const texts = [-512, -1.5 * 1024 ** 3].map(formatBytes);

    // Assess
    expect(texts).toEqual(['-512 B', '-1.5 GiB']);
  });
});
