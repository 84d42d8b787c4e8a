/** Where in a message a phrase was found. */
export interface Hit {
  index: number;
  length: number;
}

/**
 * Groups of lower-case literal phrases compiled into one regular
 * expression, so a message is read once for all of them instead of once
 * per phrase (a hundred `indexOf` calls cost ten times more than one pass
 * of an alternation), and once for several tables instead of once each.
 *
 * @example
 * ```ts
 * const table = compilePhraseTable([['x509: '], ['i/o timeout']]);
 * scanPhrases(table, 'dial tcp: i/o timeout'); // [undefined, { index: 10, length: 11 }]
 * ```
 */
export interface PhraseTable {
  /** Every distinct phrase, longest first. */
  readonly pattern: RegExp;
  /**
   * For each phrase the pattern can match: every group one of whose
   * phrases matches wherever it does (the phrase itself and the phrases
   * it starts with), with the length of that group's phrase.
   */
  readonly hitsOf: ReadonlyMap<string, readonly (readonly [number, number])[]>;
  readonly groups: number;
}

const SPECIAL = /[.*+?^${}()|[\]\\]/g;

/**
 * What a match of `longest` tells about each group: the group's first
 * phrase, in its own order, that `longest` starts with (and so matches at
 * the same place).
 */
function groupsMatchedBy(
  longest: string,
  groups: readonly (readonly string[])[]
): (readonly [number, number])[] {
  const out: (readonly [number, number])[] = [];
  groups.forEach((phrases, group) => {
    const phrase = phrases.find((p) => longest.startsWith(p));
    if (phrase !== undefined) out.push([group, phrase.length]);
  });
  return out;
}

/**
 * Compiles phrase groups into a {@link PhraseTable}. A phrase may belong to
 * several groups, and no group may be empty.
 *
 * Two phrases that match at the same place in a text are one the other's
 * prefix, so the alternatives are ordered longest first: the match at a
 * place is the longest phrase there, and every shorter phrase that matches
 * there is one it starts with, known at compile time. Each group thus
 * gets its own leftmost hit, even where phrases of several groups start
 * together, and at that place its first phrase (in its own order) that
 * matches.
 *
 * @example
 * ```ts
 * compilePhraseTable([['a b'], ['c']]).groups; // 2
 * ```
 */
export function compilePhraseTable(
  groups: readonly (readonly string[])[]
): PhraseTable {
  const phrases = [...new Set(groups.flat())].sort(
    (a, b) => b.length - a.length
  );
  const hitsOf = new Map(
    phrases.map((p) => [p, groupsMatchedBy(p, groups)] as const)
  );
  const source = phrases
    .map((phrase) => phrase.replace(SPECIAL, '\\$&'))
    .join('|');
  return {
    pattern: new RegExp(source, 'g'),
    hitsOf,
    groups: groups.length,
  };
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
    const index = m.index;
    // Every phrase the pattern matches was compiled with its groups.
    const matched = table.hitsOf.get(m[0]) as readonly (readonly [
      number,
      number,
    ])[];
    for (const [group, length] of matched) {
      hits[group] ??= { index, length };
    }
    pattern.lastIndex = index + 1;
  }
  return hits;
}
