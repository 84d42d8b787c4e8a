import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify } from '#core/classification/classify.ts';
import {
  FAILURE_CLASSES,
  type FailureClass,
} from '#core/classification/types.ts';

interface CorpusRow {
  message: string;
  reason: string | null;
  label: FailureClass;
  runtime: string;
  source: string;
}

const repoRoot = path.resolve(import.meta.dirname, '../../../..');
const corpusPath =
  process.env.PULLMEDIC_CORPUS ??
  path.resolve(repoRoot, '../shared/corpus/image-pull-errors.jsonl');

function loadCorpus(): CorpusRow[] {
  return readFileSync(corpusPath, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CorpusRow);
}

type Matrix = Record<FailureClass, Record<FailureClass, number>>;

function emptyMatrix(): Matrix {
  const matrix = {} as Matrix;
  for (const actual of FAILURE_CLASSES) {
    matrix[actual] = {} as Record<FailureClass, number>;
    for (const predicted of FAILURE_CLASSES) matrix[actual][predicted] = 0;
  }
  return matrix;
}

/** Rows are the labels, columns the classifier's verdicts. */
function render(matrix: Matrix): string {
  const short = (c: string) => c.slice(0, 8).padStart(8);
  const header = `${'label \\ got'.padEnd(24)}${FAILURE_CLASSES.map(short).join(' ')}`;
  const lines = FAILURE_CLASSES.map(
    (actual) =>
      `${actual.padEnd(24)}${FAILURE_CLASSES.map((p) =>
        String(matrix[actual][p] || '.').padStart(8)
      ).join(' ')}`
  );
  return [header, ...lines].join('\n');
}

describe('Function: classify (labelled corpus)', () => {
  const rows = loadCorpus();
  const verdicts = rows.map((row) => ({
    row,
    got: classify({ message: row.message, reason: row.reason }),
  }));

  it('meets the disk_full precision and recall of 1.0 and overall accuracy >= 0.95', () => {
    // Prepare
    const matrix = emptyMatrix();
    for (const { row, got } of verdicts) matrix[row.label][got.class]++;
    const correct = FAILURE_CLASSES.reduce((n, c) => n + matrix[c][c], 0);
    const truePositives = matrix.disk_full.disk_full;
    const predicted = FAILURE_CLASSES.reduce(
      (n, c) => n + matrix[c].disk_full,
      0
    );
    const labelled = FAILURE_CLASSES.reduce(
      (n, c) => n + matrix.disk_full[c],
      0
    );

    // Act
    const precision = truePositives / predicted;
    const recall = truePositives / labelled;
    const accuracy = correct / rows.length;
    console.log(
      `${render(matrix)}\n\ncorpus ${corpusPath}: ${rows.length} messages, ` +
        `accuracy ${accuracy.toFixed(3)}, disk_full precision ` +
        `${precision.toFixed(3)} recall ${recall.toFixed(3)}`
    );
    for (const { row, got } of verdicts) {
      if (got.class !== row.label) {
        console.log(`miss: ${row.label} -> ${got.class}: ${row.message}`);
      }
    }

    // Assess
    expect(rows.length).toBeGreaterThan(0);
    expect(predicted).toBeGreaterThan(0);
    expect(precision).toBe(1);
    expect(recall).toBe(1);
    expect(accuracy).toBeGreaterThanOrEqual(0.95);
  });

  it('cuts every evidence from the message, and gives none without a cause', () => {
    // Prepare
    const withoutCause = verdicts.filter(({ got }) => !got.causeKnown);

    // Act
    const foreign = verdicts.filter(
      ({ row, got }) =>
        got.evidence !== null && !row.message.includes(got.evidence)
    );

    // Assess
    expect(foreign).toEqual([]);
    expect(withoutCause.length).toBeGreaterThan(0);
    for (const { got } of withoutCause) {
      expect(got).toMatchObject({
        class: 'other',
        evidence: null,
        remedy: 'none',
      });
    }
  });

  it('never names a runtime other than the one the corpus records', () => {
    // Prepare
    const known = verdicts.filter(
      ({ row, got }) => row.runtime !== 'unknown' && got.runtime !== undefined
    );

    // Act
    const contradictions = known.filter(
      ({ row, got }) => got.runtime !== row.runtime
    );

    // Assess
    console.log(
      `runtime named for ${known.length} of ${verdicts.filter(({ row }) => row.runtime !== 'unknown').length} rows with a known runtime`
    );
    expect(contradictions.map(({ row }) => row.message)).toEqual([]);
  });
});
