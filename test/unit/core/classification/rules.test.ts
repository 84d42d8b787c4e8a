import { describe, expect, it } from 'vitest';
import {
  asciiLower,
  detectRuntime,
  runtimeOf,
} from '#core/classification/extract.ts';
import {
  compilePhraseTable,
  scanPhrases,
} from '#core/classification/phrase-table.ts';
import {
  EARLY_RULES,
  ENOSPC_ERRNO,
  ENOSPC_PHRASES,
  ENOSPC_VETO_CLAUSES,
  ENOSPC_VETO_CONTEXTS,
  IMAGE_STORE_AREAS,
  LATE_RULES,
  NOT_THE_IMAGE_STORE,
  PULL_CONTEXT_PHRASES,
  PULL_WORDS,
  REASON_CLASSES,
  RULE_PHRASE_TABLE,
  RUNTIME_SIGNS_AT,
  STORAGE_AREAS,
  WEAK_RULES,
} from '#core/classification/rules.ts';
import { FAILURE_CLASSES } from '#events/failure-classes.ts';
import { loadCorpora } from '../../../helpers/corpus.ts';

const ALL_RULES = [...EARLY_RULES, ...LATE_RULES, ...WEAK_RULES];

// An unbounded quantifier: `*`, `+` or `{n,}` not escaped and not inside a
// character class. Patterns run on attacker-controlled text; bounded
// quantifiers keep their worst case linear in the (capped) input.
function hasUnboundedQuantifier(source: string): boolean {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source.charAt(i);
    if (c === '\\') {
      i++;
    } else if (c === '[') {
      inClass = true;
    } else if (c === ']') {
      inClass = false;
    } else if (!inClass && (c === '*' || c === '+')) {
      return true;
    } else if (!inClass && c === '{' && /^\{\d+,\}/.test(source.slice(i))) {
      return true;
    }
  }
  return false;
}

describe('Module: rules', () => {
  it('writes every phrase in lower case, once across the rule table', () => {
    // Prepare
    const phrases = [...EARLY_RULES, ...LATE_RULES].flatMap((r) => r.phrases);

    // Act
    const notLower = phrases.filter((p) => p !== p.toLowerCase());
    const duplicates = phrases.filter((p, i) => phrases.indexOf(p) !== i);

    // Assess
    expect(notLower).toEqual([]);
    expect(duplicates).toEqual([]);
    for (const phrase of [
      ...PULL_CONTEXT_PHRASES,
      ...ENOSPC_PHRASES,
      ...ENOSPC_VETO_CLAUSES,
      ...ENOSPC_VETO_CONTEXTS,
    ]) {
      expect(phrase).toBe(phrase.toLowerCase());
    }
  });

  it('names every row once, in kebab case, for --explain', () => {
    // Prepare
    const ids = ALL_RULES.map((r) => r.id);

    // Act
    const duplicates = ids.filter((id, i) => ids.indexOf(id) !== i);
    const malformed = ids.filter((id) => !/^[a-z]+(?:-[a-z]+)*$/.test(id));

    // Assess
    expect(duplicates).toEqual([]);
    expect(malformed).toEqual([]);
  });

  it('puts every named area in the area table and keeps the two sets apart', () => {
    // Prepare
    const tabled = new Set(STORAGE_AREAS.map(([area]) => area));

    // Act
    const named = [...IMAGE_STORE_AREAS, ...NOT_THE_IMAGE_STORE];
    const both = [...IMAGE_STORE_AREAS].filter((a) =>
      NOT_THE_IMAGE_STORE.has(a)
    );

    // Assess
    expect(named.filter((a) => !tabled.has(a))).toEqual([]);
    expect(both).toEqual([]);
    expect(tabled.size).toBe(STORAGE_AREAS.length);
  });

  it('bounds every quantifier of every pattern', () => {
    // Prepare
    const patterns = [
      ...ALL_RULES.flatMap((r) => r.patterns),
      ENOSPC_ERRNO,
      PULL_WORDS,
      ...STORAGE_AREAS.map(([, p]) => p),
    ];

    // Act
    const unbounded = patterns.filter((p) => hasUnboundedQuantifier(p.source));

    // Assess
    expect(unbounded).toEqual([]);
    expect(hasUnboundedQuantifier('a+')).toBe(true);
    expect(hasUnboundedQuantifier('a{2,}')).toBe(true);
    expect(hasUnboundedQuantifier('[+*]\\+a{1,2}')).toBe(false);
  });

  it('keeps stateless patterns (no g or y flag) so they can be shared', () => {
    // Prepare
    const patterns = [
      ...ALL_RULES.flatMap((r) => r.patterns),
      ENOSPC_ERRNO,
      PULL_WORDS,
      ...STORAGE_AREAS.map(([, p]) => p),
    ];

    // Act
    const stateful = patterns.filter((p) => p.global || p.sticky);

    // Assess
    expect(stateful).toEqual([]);
  });

  it('never gives disk_full a row: only the ENOSPC check may decide it', () => {
    // Prepare
    const classes = [
      ...ALL_RULES.map((r) => r.class),
      ...REASON_CLASSES.values(),
    ];

    // Act
    const diskFullRows = classes.filter(
      (c) => c === 'disk_full' || c === 'other_no_space'
    );

    // Assess
    expect(diskFullRows).toEqual([]);
    for (const c of classes) expect(FAILURE_CLASSES).toContain(c);
  });

  it('matches the standalone errno name but not a tag or path', () => {
    // Prepare
    const texts = [
      'write /x: ENOSPC',
      'errno=ENOSPC)',
      'image "a:ENOSPC"',
      'a/ENOSPC-b',
      'enospc',
    ];

    // Act
    const hits = texts.map((t) => ENOSPC_ERRNO.test(t));

    // Assess
    expect(hits).toEqual([true, true, false, false, false]);
  });
});

describe('Constant: RULE_PHRASE_TABLE', () => {
  it('reads the runtime in the same pass as the rules, as detectRuntime does alone', () => {
    // Prepare
    const messages = [
      ...loadCorpora().flatMap(({ rows }) => rows.map((r) => r.message)),
      'a short-name "x" and /var/lib/docker',
      'writing blob: failed to pull and unpack image',
    ].map(asciiLower);

    // Act
    const differ = messages.filter(
      (lower) =>
        runtimeOf(scanPhrases(RULE_PHRASE_TABLE, lower), RUNTIME_SIGNS_AT) !==
        detectRuntime(lower)
    );

    // Assess
    expect(differ).toEqual([]);
    expect(
      messages.filter((m) => detectRuntime(m) !== undefined).length
    ).toBeGreaterThan(100);
  });
});

describe('Function: scanPhrases', () => {
  it('reports the leftmost hit of every group', () => {
    // Prepare
    const table = compilePhraseTable([['x509: '], ['i/o timeout', 'dial tcp']]);

    // Act
    const hits = scanPhrases(table, 'dial tcp 1.2.3.4:443: i/o timeout');

    // Assess
    expect(hits).toEqual([undefined, { index: 0, length: 8 }]);
  });

  it('sees a phrase that overlaps an earlier match', () => {
    // Prepare
    const table = compilePhraseTable([['pull image'], ['failed to pull']]);

    // Act
    const hits = scanPhrases(table, 'failed to pull image');

    // Assess
    expect(hits).toEqual([
      { index: 10, length: 10 },
      { index: 0, length: 14 },
    ]);
  });

  it('gives each group its own hit where phrases of several groups start together', () => {
    // Prepare
    const table = compilePhraseTable([['ab'], ['abc'], ['abcd']]);

    // Act
    const hits = scanPhrases(table, 'abc');

    // Assess
    expect(hits).toEqual([
      { index: 0, length: 2 },
      { index: 0, length: 3 },
      undefined,
    ]);
  });

  it("reports a group's first phrase, in its own order, at a shared start", () => {
    // Prepare
    const longFirst = compilePhraseTable([['abc', 'ab']]);
    const shortFirst = compilePhraseTable([['ab', 'abc']]);

    // Act
    const hits = [
      scanPhrases(longFirst, 'xabcd'),
      scanPhrases(shortFirst, 'xabcd'),
    ];

    // Assess
    expect(hits).toEqual([
      [{ index: 1, length: 3 }],
      [{ index: 1, length: 2 }],
    ]);
  });

  it('lets one phrase belong to several groups', () => {
    // Prepare
    const table = compilePhraseTable([['short-name'], ['short-name "', 'x']]);

    // Act
    const hits = scanPhrases(table, 'a short-name "b"');

    // Assess
    expect(hits).toEqual([
      { index: 2, length: 10 },
      { index: 2, length: 12 },
    ]);
  });

  it('escapes regular expression syntax in phrases', () => {
    // Prepare
    const table = compilePhraseTable([['api error ('], ['a.b']]);

    // Act
    const hits = scanPhrases(table, 'axb api error (500)');

    // Assess
    expect(hits).toEqual([{ index: 4, length: 11 }, undefined]);
  });

  it('can be used again right after a scan', () => {
    // Prepare
    const table = compilePhraseTable([['x']]);
    scanPhrases(table, 'aaaax');

    // Act
    const hits = scanPhrases(table, 'x');

    // Assess
    expect(hits).toEqual([{ index: 0, length: 1 }]);
  });
});
