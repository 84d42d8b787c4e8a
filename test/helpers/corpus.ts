import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FailureClass } from '../../events/failure-classes.ts';

/**
 * One labelled message of a corpus file: a real message, copied from the
 * public issue or page named by `source`.
 */
export interface CorpusRow {
  message: string;
  reason: string | null;
  label: FailureClass;
  /** The runtime that wrote it, or `unknown`; `podman` shares CRI-O's libraries. */
  runtime: string;
  source: string;
}

const repoRoot = path.resolve(import.meta.dirname, '../..');

/**
 * The corpus files, in order: the shared corpus first (where the rules were
 * first written from), then the lines this repository added. A list in
 * `PULLMEDIC_CORPUS` (separated like PATH) replaces both, so an unseen set
 * can be measured on its own.
 *
 * @example
 * ```ts
 * corpusPaths(); // ['…/shared/corpus/image-pull-errors.jsonl', '…/test/corpus/image-pull-errors.jsonl']
 * ```
 */
export function corpusPaths(
  env: string | undefined = process.env.PULLMEDIC_CORPUS
): string[] {
  if (env !== undefined && env.trim() !== '') {
    return env.split(path.delimiter).filter((p) => p !== '');
  }
  return [
    path.resolve(repoRoot, '../shared/corpus/image-pull-errors.jsonl'),
    path.resolve(repoRoot, 'test/corpus/image-pull-errors.jsonl'),
  ];
}

/**
 * Reads one corpus file. A line that is not a labelled message is an error
 * naming the file and line, never skipped: a corpus that quietly lost a
 * line would measure something else.
 *
 * @example
 * ```ts
 * readCorpus('test/corpus/image-pull-errors.jsonl').length; // 62
 * ```
 */
export function readCorpus(file: string): CorpusRow[] {
  const rows: CorpusRow[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      const row = JSON.parse(line) as Partial<CorpusRow>;
      if (
        typeof row.message !== 'string' ||
        typeof row.label !== 'string' ||
        typeof row.source !== 'string'
      ) {
        throw new Error(
          `${file}:${i + 1}: not a labelled message (message, label, source)`
        );
      }
      rows.push(row as CorpusRow);
    });
  return rows;
}

/**
 * Every corpus file's rows, in {@link corpusPaths} order.
 *
 * @example
 * ```ts
 * loadCorpora().map(({ file, rows }) => `${file}: ${rows.length}`);
 * ```
 */
export function loadCorpora(
  paths: string[] = corpusPaths()
): { file: string; rows: CorpusRow[] }[] {
  return paths.map((file) => ({ file, rows: readCorpus(file) }));
}
