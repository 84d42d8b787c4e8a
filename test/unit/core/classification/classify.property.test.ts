import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classify,
  classifyStrict,
  explain,
} from '#core/classification/classify.ts';
import type { Classification } from '#core/classification/types.ts';
import { FAILURE_CLASSES } from '#events/failure-classes.ts';
import { loadCorpora } from '../../../helpers/corpus.ts';

const corpus = loadCorpora().flatMap(({ rows }) =>
  rows.map(({ message, reason }) => ({ message, reason }))
);

// The safety property, written independently of the classifier's tables and
// deliberately looser than them: a message may only be disk_full if it has
// some pull wording before some ENOSPC wording, the pull wording outside
// the quoted names (an image called "extract-layer" is not a pull phrase).
// Docker's layer application speaks of tar files (`Error processing tar
// file`, `Untar re-exec error`), so those count as pull wording too.
const PULL_WORDING =
  /pull|unpack|extract|layer|blob|ingest|commit|copy|content\.v1|tar file|untar/i;
const ENOSPC_WORDING =
  /no space left on device|enospc|not enough space on the disk/gi;

function mayBeDiskFull(message: string): boolean {
  const lastEnospc = [...message.matchAll(ENOSPC_WORDING)].at(-1)?.index;
  if (lastEnospc === undefined) return false;
  // Quoted names (image references have no spaces) blanked out, same
  // length, so positions still line up.
  const unquoted = message.replace(/"[^"\s]*"/g, (q) => ' '.repeat(q.length));
  const pull = PULL_WORDING.exec(unquoted.slice(0, lastEnospc));
  return pull !== null;
}

// Pieces real messages are made of, so mutations build plausible and
// implausible mixtures of them (a pull wording next to an inotify ENOSPC,
// an ENOSPC with its pull wording cut away, …).
const FRAGMENTS = [
  'Failed to pull image "nginx": ',
  'rpc error: code = Unknown desc = ',
  'failed to pull and unpack image "docker.io/library/nginx:latest": ',
  `failed to extract layer sha256:${'a'.repeat(64)}: `,
  'failed to register layer: ',
  'writing blob: storing blob to file "/var/tmp/storage1/1": ',
  'Back-off pulling image "x": ErrImagePull: ',
  '(combined from similar events): ',
  'write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs/x: ',
  'fork/exec /proc/self/exe: ',
  'Error processing tar file(exit status 1): ',
  'write /var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db: ',
  'write /run/containerd/io.containerd.runtime.v2.task/k8s.io/c/x: ',
  'msg="extraction snapshot removal failed" error="',
  'failed to copy files: ',
  '"acme/pull-through:1"',
  'inotify_add_watch /sys/fs/cgroup/x: ',
  'mounting shm tmpfs: ',
  'no space left on device',
  'No Space Left On Device',
  'ENOSPC',
  ': unknown',
  '"',
  '\\"',
  ': ',
  ' / ',
  'Error: ErrImagePull',
  'toomanyrequests',
  'x509: ',
  'manifest unknown',
  'i/o timeout',
];

const REASONS = [
  'Failed',
  'BackOff',
  'FailedSync',
  'FailedCreatePodSandBox',
  'FreeDiskSpaceFailed',
  'ImageGCFailed',
  'ErrImageNeverPull',
  'InvalidImageName',
  'NodeHasDiskPressure',
  'Evicted',
  'Pulled',
];

const anyText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.constantFrom(...FRAGMENTS)
);

type Mutation =
  | { kind: 'drop'; from: number; to: number }
  | { kind: 'replace'; from: number; to: number; text: string }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'truncate'; at: number }
  | { kind: 'case'; from: number; to: number; upper: boolean };

const fraction = fc.double({ min: 0, max: 1, noNaN: true });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('drop' as const),
    from: fraction,
    to: fraction,
  }),
  fc.record({
    kind: fc.constant('replace' as const),
    from: fraction,
    to: fraction,
    text: anyText,
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fraction,
    text: anyText,
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fraction }),
  fc.record({
    kind: fc.constant('case' as const),
    from: fraction,
    to: fraction,
    upper: fc.boolean(),
  })
);

function span(message: string, a: number, b: number): [number, number] {
  const [lo, hi] = a <= b ? [a, b] : [b, a];
  return [Math.floor(lo * message.length), Math.floor(hi * message.length)];
}

function mutate(message: string, m: Mutation): string {
  switch (m.kind) {
    case 'drop': {
      const [from, to] = span(message, m.from, m.to);
      return message.slice(0, from) + message.slice(to);
    }
    case 'replace': {
      const [from, to] = span(message, m.from, m.to);
      return message.slice(0, from) + m.text + message.slice(to);
    }
    case 'insert': {
      const at = Math.floor(m.at * message.length);
      return message.slice(0, at) + m.text + message.slice(at);
    }
    case 'truncate':
      return message.slice(0, Math.floor(m.at * message.length));
    case 'case': {
      const [from, to] = span(message, m.from, m.to);
      const part = message.slice(from, to);
      return (
        message.slice(0, from) +
        (m.upper ? part.toUpperCase() : part.toLowerCase()) +
        message.slice(to)
      );
    }
  }
}

const mutatedCorpus = fc
  .tuple(
    fc.constantFrom(...corpus),
    fc.array(mutation, { minLength: 1, maxLength: 6 })
  )
  .map(([row, mutations]) => ({
    reason: row.reason,
    message: mutations.reduce(mutate, row.message),
  }));

const randomInput = fc.record({
  reason: fc.option(fc.oneof(fc.constantFrom(...REASONS), fc.string()), {
    nil: null,
  }),
  type: fc.option(fc.constantFrom('Normal', 'Warning'), { nil: null }),
  message: fc.oneof(
    anyText,
    fc.array(anyText, { maxLength: 12 }).map((parts) => parts.join(''))
  ),
});

const anyInput = fc.oneof(mutatedCorpus, randomInput);

/** Everything a verdict must satisfy, whatever the input. */
function expectWellFormed(message: string, got: Classification) {
  expect(FAILURE_CLASSES).toContain(got.class);
  if (got.evidence !== null) expect(message).toContain(got.evidence);
  if (got.pullContext !== undefined) expect(message).toContain(got.pullContext);
  expect(got.causeKnown).toBe(got.remedy !== 'none');
  expect(got.class === 'disk_full').toBe(
    got.remedy === 'prune' || got.remedy === 'escalate'
  );
  expect(got.class === 'image_gc_failed').toBe(got.remedy === 'grow_volume');
}

describe('Function: classify (properties)', () => {
  it('never throws and always returns a well-formed verdict', () => {
    // Prepare: the rules themselves, without classify's guard, which
    // would turn a fault into a well-formed fallback verdict.
    const property = fc.property(anyInput, (input) => {
      // Act
      const got = classifyStrict(input);

      // Assess
      expectWellFormed(input.message, got);
    });

    // Act + Assess
    fc.assert(property, { numRuns: 3000 });
  });

  it('never says disk_full without a pull wording, outside the names, before an ENOSPC wording', () => {
    // Prepare
    const property = fc.property(anyInput, (input) => {
      // Act
      const got = classify(input);

      // Assess
      if (got.class === 'disk_full') {
        expect(mayBeDiskFull(input.message)).toBe(true);
      }
    });

    // Act + Assess
    fc.assert(property, { numRuns: 5000 });
  });

  it('never says disk_full once the ENOSPC wording is cut out', () => {
    // Prepare
    const diskFull = corpus.filter(
      (row) => classify(row).class === 'disk_full'
    );
    const property = fc.property(
      fc.constantFrom(...diskFull),
      fc.array(mutation, { maxLength: 4 }),
      (row, mutations) => {
        const message = mutations
          .reduce(mutate, row.message)
          .replace(/no space left on device|enospc/gi, 'i/o timeout');

        // Act
        const got = classify({ reason: row.reason, message });

        // Assess
        expect(got.class).not.toBe('disk_full');
      }
    );

    // Act + Assess
    expect(diskFull.length).toBeGreaterThan(0);
    fc.assert(property, { numRuns: 1000 });
  });

  it('explains the very verdict it gives, from text of the message', () => {
    // Prepare
    const property = fc.property(anyInput, (input) => {
      // Act
      const { verdict, explanation } = explain(input);

      // Assess
      expect(verdict).toEqual(classify(input));
      for (const text of [explanation.pull?.text, explanation.enospc]) {
        if (text !== undefined) expect(input.message).toContain(text);
      }
      if (verdict.class === 'disk_full') {
        expect(explanation.pull).toBeDefined();
        expect(explanation.veto).toBeUndefined();
      }
    });

    // Act + Assess
    fc.assert(property, { numRuns: 2000 });
  });

  it('is pure: the same input always gets the same verdict', () => {
    // Prepare
    const property = fc.property(anyInput, (input) => {
      // Act
      const first = classify(input);
      const second = classify({ ...input });

      // Assess
      expect(second).toEqual(first);
    });

    // Act + Assess
    fc.assert(property, { numRuns: 500 });
  });

  it('does not change its verdict when the event is aggregated', () => {
    // Prepare
    const property = fc.property(fc.constantFrom(...corpus), (row) => {
      // Act
      const plain = classify(row);
      const combined = classify({
        reason: row.reason,
        message: `(combined from similar events): ${row.message}`,
      });

      // Assess
      expect(combined.class).toBe(plain.class);
      expect(combined.evidence).toBe(plain.evidence);
    });

    // Act + Assess
    fc.assert(property, { numRuns: 200 });
  });
});
