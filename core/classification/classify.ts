import type { FailureClass } from '../../events/failure-classes.ts';
import {
  asciiLower,
  type EnospcClause,
  enospcClause,
  extractImage,
  extractLayerDigest,
  fullFilesystem,
  parseGcBytes,
  registryFromUrl,
  registryOf,
  runtimeOf,
  stripKubeletWrappers,
} from './extract.ts';
import { type Hit, scanPhrases } from './phrase-table.ts';
import {
  EARLY_RULES,
  ENOSPC_ERRNO,
  ENOSPC_PHRASES,
  ENOSPC_VETO_CONTEXTS,
  IMAGE_STORE_AREAS,
  LATE_RULES,
  PULL_CONTEXT_AT,
  PULL_WORDS,
  REASON_CLASSES,
  RULE_PHRASE_TABLE,
  RUNTIME_SIGNS_AT,
  type Rule,
  WEAK_RULES,
} from './rules.ts';
import type { Classification, ClassifierInput, Explanation } from './types.ts';

export { stripKubeletWrappers } from './extract.ts';

/**
 * How much of a message is read. Kubernetes caps event messages far below
 * this; the cap is there so that a hostile or broken input costs the same
 * as a real one.
 *
 * @example
 * ```ts
 * MAX_SCAN_CHARS; // 16384
 * ```
 */
export const MAX_SCAN_CHARS = 16 * 1024;

const MAX_EVIDENCE_CHARS = 256;

/** A message as read: capped, lower-cased, with its rule phrases found. */
interface Scan {
  text: string;
  lower: string;
  /**
   * First hit of each EARLY_RULES then LATE_RULES row's phrases, then of
   * each runtime's signs (from RUNTIME_SIGNS_AT on), then of the pull
   * wordings (at PULL_CONTEXT_AT).
   */
  ruleHits: (Hit | undefined)[];
  /** The event's type is Normal (informational, or a BackOff). */
  normal: boolean;
}

function findPhrase(
  lower: string,
  phrases: readonly string[]
): Hit | undefined {
  for (const phrase of phrases) {
    const index = lower.indexOf(phrase);
    if (index >= 0) return { index, length: phrase.length };
  }
  return undefined;
}

function findPattern(
  text: string,
  patterns: readonly RegExp[]
): Hit | undefined {
  for (const pattern of patterns) {
    const m = pattern.exec(text);
    if (m) return { index: m.index, length: m[0].length };
  }
  return undefined;
}

/**
 * The row's phrase hit from the one-pass scan (`at` is the row's place in
 * it; WEAK_RULES have no phrases and no place) or else its first matching
 * pattern. Patterns only run for rows whose phrases did not match.
 */
function matchRule(
  scan: Scan,
  rule: Rule,
  at: number | undefined
): Hit | undefined {
  const phraseHit = at === undefined ? undefined : scan.ruleHits[at];
  return phraseHit ?? findPattern(scan.text, rule.patterns);
}

function firstRule(
  scan: Scan,
  rules: readonly Rule[],
  offset: number | undefined
): { rule: Rule; hit: Hit } | undefined {
  for (const [i, rule] of rules.entries()) {
    const hit = matchRule(
      scan,
      rule,
      offset === undefined ? undefined : offset + i
    );
    if (hit) return { rule, hit };
  }
  return undefined;
}

/** The text a rule's hit matched: the evidence a verdict quotes. */
function matchedText(text: string, hit: Hit): string {
  return text.slice(hit.index, hit.index + hit.length);
}

function capped(text: string): string {
  return text.length > MAX_EVIDENCE_CHARS
    ? text.slice(0, MAX_EVIDENCE_CHARS)
    : text;
}

/** What every verdict carries besides its class: what the message names. */
function namedParts(
  scan: Scan
): Omit<Classification, 'class' | 'evidence' | 'causeKnown' | 'remedy'> {
  const out: Partial<Classification> = {};
  const image = extractImage(scan.text);
  if (image !== undefined) out.image = image;
  const registry =
    image === undefined ? registryFromUrl(scan.text) : registryOf(image);
  if (registry !== undefined) out.registry = registry;
  const layerDigest = extractLayerDigest(scan.text);
  if (layerDigest !== undefined) out.layerDigest = layerDigest;
  const runtime = runtimeOf(scan.ruleHits, RUNTIME_SIGNS_AT);
  if (runtime !== undefined) out.runtime = runtime;
  return out;
}

function verdict(
  scan: Scan,
  cls: FailureClass,
  evidence: string | null
): Classification {
  const out: Classification = {
    class: cls,
    // A prefix of a substring is still a substring; the cap keeps pattern
    // matches (up to ~550 characters) short enough for any event.
    evidence: evidence === null ? null : capped(evidence),
    causeKnown: true,
    remedy: cls === 'image_gc_failed' ? 'grow_volume' : 'notify',
    ...namedParts(scan),
  };
  if (cls === 'image_gc_failed') {
    const { wanted, freed } = parseGcBytes(scan.text);
    if (wanted !== undefined) out.gcWantedBytes = wanted;
    if (freed !== undefined) out.gcFreedBytes = freed;
  }
  return out;
}

/**
 * A reason the kubelet only uses for one condition decides the class; the
 * evidence is still taken from the message: the class's own phrase when
 * the message has one, else the runtime's error, else nothing.
 */
function byReason(
  scan: Scan,
  cls: FailureClass,
  trace: Explanation | undefined
): Classification {
  if (trace) trace.rule = 'reason';
  const at = EARLY_RULES.findIndex((rule) => rule.class === cls);
  const row = EARLY_RULES[at];
  const hit = row && matchRule(scan, row, at);
  if (hit) return verdict(scan, cls, matchedText(scan.text, hit));
  const cause = stripKubeletWrappers(scan.text);
  return verdict(scan, cls, cause === '' ? null : cause);
}

function findEnospc(scan: Scan): Hit | undefined {
  return (
    findPhrase(scan.lower, ENOSPC_PHRASES) ??
    findPattern(scan.text, [ENOSPC_ERRNO])
  );
}

// A quoted name without spaces (`"acme/pull-proxy:1"`) names something; its
// words are not the runtime's. Blanked, same length, so indices hold. The
// bound is the scan cap: a name is never cut in two.
const QUOTED_NAME = /"[^"\s]{0,16384}"/g;

/**
 * A pull word before the path of a write that failed in an image store,
 * outside quoted names. Only read when no pull phrase decided, which is
 * rare, so the blanking costs nothing on the common path.
 */
function pullWordBefore(scan: Scan, end: number): Hit | undefined {
  const before = scan.lower
    .slice(0, end)
    .replace(QUOTED_NAME, (name) => ' '.repeat(name.length));
  const m = PULL_WORDS.exec(before);
  return m ? { index: m.index, length: m[0].length } : undefined;
}

/** The pull evidence for an ENOSPC, and which kind it is. */
function pullEvidence(
  scan: Scan,
  enospc: Hit,
  clause: EnospcClause
): { hit: Hit; kind: 'phrase' | 'pull-word' } | undefined {
  // The pull wording wraps the errno, so it comes first; the leftmost one
  // is enough to know.
  const first = scan.ruleHits[PULL_CONTEXT_AT];
  if (first && first.index < enospc.index)
    return { hit: first, kind: 'phrase' };
  const { area, pathAt } = clause;
  if (area === undefined || pathAt === undefined) return undefined;
  if (!IMAGE_STORE_AREAS.has(area)) return undefined;
  const word = pullWordBefore(scan, pathAt);
  return word && { hit: word, kind: 'pull-word' };
}

/** What rules disk_full out for this ENOSPC, with the rule that says so. */
function enospcVeto(
  scan: Scan,
  enospc: Hit,
  clause: EnospcClause
): { rule: string; by: string } | undefined {
  if (clause.vetoedBy !== undefined) {
    const byArea = clause.vetoedBy === clause.area;
    return {
      rule: byArea ? 'enospc/veto-path' : 'enospc/veto-clause',
      by: clause.vetoedBy,
    };
  }
  const context = ENOSPC_VETO_CONTEXTS.find((c) => {
    const at = scan.lower.indexOf(c);
    return at >= 0 && at < enospc.index;
  });
  return context === undefined
    ? undefined
    : { rule: 'enospc/veto-context', by: context };
}

type PullEvidence = ReturnType<typeof pullEvidence>;

// `PullImage ` carries its space so that it never matches inside an image
// name; the evidence shown is the word.
function pullText(scan: Scan, pull: NonNullable<PullEvidence>): string {
  return matchedText(scan.text, pull.hit).trimEnd();
}
type EnospcVeto = ReturnType<typeof enospcVeto>;

function enospcRule(pull: PullEvidence, veto: EnospcVeto): string {
  if (veto) return veto.rule;
  if (!pull) return 'enospc/not-a-pull';
  return pull.kind === 'phrase'
    ? 'enospc/pull-phrase'
    : 'enospc/runtime-storage';
}

function traceEnospc(
  trace: Explanation,
  scan: Scan,
  found: { enospc: Hit; clause: EnospcClause },
  pull: PullEvidence,
  veto: EnospcVeto
): void {
  const { enospc, clause } = found;
  trace.rule = enospcRule(pull, veto);
  if (pull) trace.pull = { text: pullText(scan, pull), kind: pull.kind };
  trace.enospc = matchedText(scan.text, enospc);
  if (clause.path !== undefined) trace.path = clause.path;
  if (clause.area !== undefined) trace.area = clause.area;
  if (veto) trace.veto = veto.by;
}

/**
 * ENOSPC is disk_full only with pull evidence before it (a pull wording,
 * or a pull word before a path in a runtime's image store) and nothing
 * that rules it out (a clause about a watch or a mount, a path that is
 * never the image store, a build step); anything else is other_no_space.
 */
function byEnospc(
  scan: Scan,
  enospc: Hit,
  trace: Explanation | undefined
): Classification {
  const clause = enospcClause(scan.text, scan.lower, enospc.index);
  // A clause or a path that rules disk_full out decides alone; the pull
  // evidence behind it is only read for an explanation.
  const pull =
    clause.vetoed && !trace ? undefined : pullEvidence(scan, enospc, clause);
  const veto =
    pull === undefined && !trace ? undefined : enospcVeto(scan, enospc, clause);
  const isDiskFull = pull !== undefined && veto === undefined;
  if (trace) traceEnospc(trace, scan, { enospc, clause }, pull, veto);
  const out = verdict(
    scan,
    isDiskFull ? 'disk_full' : 'other_no_space',
    matchedText(scan.text, enospc)
  );
  if (clause.path !== undefined) out.path = clause.path;
  if (!isDiskFull) return out;
  out.pullContext = pullText(scan, pull);
  out.filesystem = fullFilesystem(scan.lower, clause.path, out.runtime);
  // Pruning images does not empty CRI-O's /var/tmp staging directory: a
  // person has to look. Everything else is the image store.
  out.remedy = out.filesystem === 'crio_tmp' ? 'escalate' : 'prune';
  return out;
}

const CAUSELESS_TOKENS: ReadonlySet<string> = new Set([
  '',
  'ErrImagePull',
  'ImagePullBackOff',
  'ImageInspectError',
]);
const INFORMATIONAL =
  /^(?:Pulling image |Successfully pulled image |Back-off pulling image \S{0,512}$|Container image \S{1,512} already present on machine)/;

/**
 * True when what is left after the wrappers names no cause: the kubelet's
 * status words (`Error: ErrImagePull`), a BackOff that does not repeat the
 * error (kubelet < 1.32), or a Normal progress event. A Normal event is
 * never a failure (Scheduled, Created, Started…) unless it is a BackOff
 * repeating the error, so one that matched no class carries no cause.
 */
function isCauseless(scan: Scan, cause: string): boolean {
  return (
    CAUSELESS_TOKENS.has(cause) ||
    INFORMATIONAL.test(cause) ||
    (scan.normal && !scan.lower.includes('back-off pulling image'))
  );
}

function byFallback(
  scan: Scan,
  trace: Explanation | undefined
): Classification {
  const cause = stripKubeletWrappers(scan.text);
  const known = !isCauseless(scan, cause);
  if (trace) trace.rule = known ? 'fallback/cause' : 'fallback/no-cause';
  if (known) return verdict(scan, 'other', cause);
  return {
    ...verdict(scan, 'other', null),
    causeKnown: false,
    remedy: 'none',
  };
}

function byRule(
  scan: Scan,
  found: { rule: Rule; hit: Hit },
  trace: Explanation | undefined
): Classification {
  if (trace) trace.rule = found.rule.id;
  return verdict(scan, found.rule.class, matchedText(scan.text, found.hit));
}

/**
 * The decision, in order: a reason that decides alone, the early rows, the
 * ENOSPC check, the late rows, the gRPC code, and the fallback. `trace`,
 * when given, records why (for `explain`); the fast path passes none.
 */
function classifyScan(
  scan: Scan,
  reason: string,
  trace?: Explanation
): Classification {
  const reasonClass = REASON_CLASSES.get(asciiLower(reason.trim()));
  if (reasonClass !== undefined) return byReason(scan, reasonClass, trace);
  const early = firstRule(scan, EARLY_RULES, 0);
  if (early) return byRule(scan, early, trace);
  const enospc = findEnospc(scan);
  if (enospc) return byEnospc(scan, enospc, trace);
  const late =
    firstRule(scan, LATE_RULES, EARLY_RULES.length) ??
    firstRule(scan, WEAK_RULES, undefined);
  if (late) return byRule(scan, late, trace);
  return byFallback(scan, trace);
}

function readInput(input: ClassifierInput | null | undefined): {
  scan: Scan;
  reason: string;
} {
  const message = typeof input?.message === 'string' ? input.message : '';
  const reason = typeof input?.reason === 'string' ? input.reason : '';
  const normal = input?.type === 'Normal';
  const text =
    message.length > MAX_SCAN_CHARS
      ? message.slice(0, MAX_SCAN_CHARS)
      : message;
  const lower = asciiLower(text);
  const ruleHits = scanPhrases(RULE_PHRASE_TABLE, lower);
  return { scan: { text, lower, ruleHits, normal }, reason };
}

/**
 * {@link classify} without its guard: throws what a rule throws. For the
 * property tests, which must see a fault rather than its fallback verdict.
 *
 * @example
 * ```ts
 * classifyStrict({ reason: 'Failed', message: '… no space left on device' }).class;
 * ```
 */
export function classifyStrict(input: ClassifierInput): Classification {
  const { scan, reason } = readInput(input);
  return classifyScan(scan, reason);
}

/**
 * Classifies one kubelet/runtime image-pull message (a Kubernetes Event's
 * reason and message, or a container's waiting state). Pure, total and
 * fast: never throws, reads at most {@link MAX_SCAN_CHARS} characters.
 *
 * Only `disk_full` gets remedy `prune`, and only when the message has both
 * an image-pull wording and an ENOSPC wording after it; CRI-O's /var/tmp
 * staging gets `escalate`, an image GC failure `grow_volume`, a message
 * without a cause (`Error: ErrImagePull`, a bare BackOff) `none`.
 *
 * @example
 * ```ts
 * const c = classify({
 *   reason: 'Failed',
 *   message:
 *     'Failed to pull image "nginx": failed to pull and unpack image ' +
 *     '"docker.io/library/nginx:latest": failed to extract layer sha256:' +
 *     `${'a'.repeat(64)}: write /var/lib/containerd/io.containerd.` +
 *     'snapshotter.v1.overlayfs/snapshots/9/fs/x: no space left on device',
 * });
 * c.class; // 'disk_full'
 * c.remedy; // 'prune'
 * c.filesystem; // 'containerd_root'
 * ```
 */
export function classify(input: ClassifierInput): Classification {
  try {
    return classifyStrict(input);
  } catch {
    // Nothing above is known to throw; this keeps the promise to callers
    // (one bad event must not fail a batch) if a future rule ever does.
    return {
      class: 'other',
      evidence: null,
      causeKnown: false,
      remedy: 'none',
    };
  }
}

/**
 * {@link classify}, with why: the rule that decided and the evidence it read
 * (the pull evidence, the ENOSPC wording, the path the write failed on and
 * what part of the node that is, what ruled disk_full out). The verdict is
 * the one `classify` gives. Slower than `classify`: for a person or the CLI's
 * `--explain`, not for the pipeline.
 *
 * @example
 * ```ts
 * const { verdict, explanation } = explain({
 *   message:
 *     'level=warning msg="extraction snapshot removal failed" error="write ' +
 *     '/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db: no space ' +
 *     'left on device: unknown"',
 * });
 * verdict.class; // 'disk_full'
 * explanation.rule; // 'enospc/pull-phrase'
 * explanation.area; // 'containerd_metadata'
 * ```
 */
export function explain(input: ClassifierInput): {
  verdict: Classification;
  explanation: Explanation;
} {
  const explanation: Explanation = { rule: 'fallback/no-cause' };
  try {
    const { scan, reason } = readInput(input);
    return { verdict: classifyScan(scan, reason, explanation), explanation };
  } catch {
    // The same promise as classify: never throws, a causeless verdict.
    return {
      verdict: {
        class: 'other',
        evidence: null,
        causeKnown: false,
        remedy: 'none',
      },
      explanation: { rule: 'fallback/no-cause' },
    };
  }
}
