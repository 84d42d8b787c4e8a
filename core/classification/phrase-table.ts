/** Where in a message a phrase was found. */
export interface Hit {
  index: number;
  length: number;
}

/**
 * Groups of lower-case literal phrases compiled into one regular
 * expression, so a message is read once for all of them instead of once
 * per phrase (a hundred `indexOf` calls cost ten times more than one pass
 * of an alternation).
 *
 * @example
 * ```ts
 * const table = compilePhraseTable([['x509: '], ['i/o timeout']]);
 * scanPhrases(table, 'dial tcp: i/o timeout'); // [undefined, { index: 10, length: 11 }]
 * ```
 */
export interface PhraseTable {
  readonly pattern: RegExp;
  readonly groupOf: ReadonlyMap<string, number>;
  readonly groups: number;
}

const SPECIAL = /[.*+?^${}()|[\]\\]/g;

/**
 * Compiles phrase groups, in priority order, into a {@link PhraseTable}.
 * Alternatives are ordered by group, so where phrases of two groups start
 * at the same character the earlier group's phrase is the one reported.
 * A phrase must appear in one group only, and no group may be empty.
 *
 * @example
 * ```ts
 * compilePhraseTable([['a b'], ['c']]).groups; // 2
 * ```
 */
export function compilePhraseTable(
  groups: readonly (readonly string[])[]
): PhraseTable {
  const groupOf = new Map<string, number>();
  groups.forEach((phrases, group) => {
    for (const phrase of phrases) groupOf.set(phrase, group);
  });
  const source = groups
    .flat()
    .map((phrase) => phrase.replace(SPECIAL, '\\$&'))
    .join('|');
  return { pattern: new RegExp(source, 'g'), groupOf, groups: groups.length };
}

/**
 * The first (leftmost) hit of each group in a lower-cased message. The scan
 * restarts one character after every match, so a phrase that overlaps an
 * earlier match is still seen.
 *
 * @example
 * ```ts
 * const table = compilePhraseTable([['pull image'], ['failed to pull']]);
 * scanPhrases(table, 'failed to pull image');
 * // [{ index: 10, length: 10 }, { index: 0, length: 14 }]
 * ```
 */
export function scanPhrases(
  table: PhraseTable,
  lower: string
): (Hit | undefined)[] {
  const hits: (Hit | undefined)[] = new Array(table.groups).fill(undefined);
  const { pattern } = table;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(lower); m !== null; m = pattern.exec(lower)) {
    const group = table.groupOf.get(m[0]) as number;
    hits[group] ??= { index: m.index, length: m[0].length };
    pattern.lastIndex = m.index + 1;
  }
  return hits;
}
