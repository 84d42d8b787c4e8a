import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify } from '#core/classification/classify.ts';
import { FAILURE_CLASSES, type FailureClass } from '#events/failure-classes.ts';
import { loadCorpora, readCorpus } from '../../../helpers/corpus.ts';

// podman and buildah speak through the same containers/image and
// containers/storage libraries as CRI-O, so their wording reads as CRI-O's.
const RUNTIME_FAMILY: Record<string, string> = { podman: 'cri-o' };

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

function measure(matrix: Matrix, rows: number) {
  const correct = FAILURE_CLASSES.reduce((n, c) => n + matrix[c][c], 0);
  const truePositives = matrix.disk_full.disk_full;
  const predicted = FAILURE_CLASSES.reduce(
    (n, c) => n + matrix[c].disk_full,
    0
  );
  const labelled = FAILURE_CLASSES.reduce((n, c) => n + matrix.disk_full[c], 0);
  return {
    predicted,
    precision: truePositives / predicted,
    recall: truePositives / labelled,
    accuracy: correct / rows,
  };
}

describe('Function: classify (labelled corpus)', () => {
  const corpora = loadCorpora();
  const rows = corpora.flatMap(({ rows }) => rows);
  const verdicts = rows.map((row) => ({
    row,
    got: classify({ message: row.message, reason: row.reason }),
  }));

  it('reads every corpus file as labelled messages with known labels', () => {
    // Prepare
    const known = new Set<string>(FAILURE_CLASSES);

    // Act
    const unknown = rows.filter((row) => !known.has(row.label));

    // Assess
    expect(corpora.every(({ rows }) => rows.length > 0)).toBe(true);
    expect(unknown.map((row) => row.source)).toEqual([]);
  });

  it('refuses a line that is not a labelled message, naming its line', () => {
    // Prepare
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'corpus-')), 'c');
    writeFileSync(
      file,
      `${JSON.stringify({ message: 'm', label: 'other', source: 's' })}\n\n{"message":"m"}\n`
    );

    // Act
    const read = () => readCorpus(file);

    // Assess
    expect(read).toThrow(`${file}:3: not a labelled message`);
  });

  it('meets the disk_full precision and recall of 1.0 and overall accuracy >= 0.97', () => {
    // Prepare
    const matrix = emptyMatrix();
    for (const { row, got } of verdicts) matrix[row.label][got.class]++;
    const perFile = corpora.map(({ file, rows: own }) => {
      const m = emptyMatrix();
      for (const row of own) {
        m[row.label][
          classify({ message: row.message, reason: row.reason }).class
        ]++;
      }
      const { precision, recall, accuracy } = measure(m, own.length);
      return `${file}: ${own.length} messages, accuracy ${accuracy.toFixed(3)}, disk_full precision ${precision.toFixed(3)} recall ${recall.toFixed(3)}`;
    });

    // Act
    const { predicted, precision, recall, accuracy } = measure(
      matrix,
      rows.length
    );
    console.log(
      `${render(matrix)}\n\n${perFile.join('\n')}\nall: ${rows.length} messages, ` +
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
    expect(accuracy).toBeGreaterThanOrEqual(0.97);
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
      ({ row, got }) =>
        got.runtime !== (RUNTIME_FAMILY[row.runtime] ?? row.runtime)
    );

    // Assess
    console.log(
      `runtime named for ${known.length} of ${verdicts.filter(({ row }) => row.runtime !== 'unknown').length} rows with a known runtime`
    );
    expect(contradictions.map(({ row }) => row.message)).toEqual([]);
  });
});
