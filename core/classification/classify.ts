import {
  asciiLower,
  detectRuntime,
  enospcClause,
  extractImage,
  extractLayerDigest,
  fullFilesystem,
  parseGcBytes,
  registryFromUrl,
  registryOf,
  stripKubeletWrappers,
} from './extract.ts';
import { type Hit, scanPhrases } from './phrase-table.ts';
import {
  EARLY_RULES,
  ENOSPC_ERRNO,
  ENOSPC_PHRASES,
  LATE_RULES,
  PULL_CONTEXT_TABLE,
  REASON_CLASSES,
  RULE_PHRASE_TABLE,
  type Rule,
  WEAK_RULES,
} from './rules.ts';
import type { Classification, ClassifierInput, FailureClass } from './types.ts';

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
  /** First hit of each EARLY_RULES then LATE_RULES row's phrases. */
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
): { cls: FailureClass; hit: Hit } | undefined {
  for (const [i, rule] of rules.entries()) {
    const hit = matchRule(
      scan,
      rule,
      offset === undefined ? undefined : offset + i
    );
    if (hit) return { cls: rule.class, hit };
  }
  return undefined;
}

function cut(text: string, hit: Hit): string {
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
  const runtime = detectRuntime(scan.lower);
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
function byReason(scan: Scan, cls: FailureClass): Classification {
  const at = EARLY_RULES.findIndex((rule) => rule.class === cls);
  const row = EARLY_RULES[at];
  const hit = row && matchRule(scan, row, at);
  if (hit) return verdict(scan, cls, cut(scan.text, hit));
  const cause = stripKubeletWrappers(scan.text);
  return verdict(scan, cls, cause === '' ? null : cause);
}

function findEnospc(scan: Scan): Hit | undefined {
  return (
    findPhrase(scan.lower, ENOSPC_PHRASES) ??
    findPattern(scan.text, [ENOSPC_ERRNO])
  );
}

/**
 * ENOSPC is disk_full only with a pull wording before it and a clause that
 * is about writing a file; anything else is other_no_space.
 */
function byEnospc(scan: Scan, enospc: Hit): Classification {
  // The pull wording wraps the errno, so it comes first; the leftmost one
  // is enough to know.
  const [first] = scanPhrases(PULL_CONTEXT_TABLE, scan.lower);
  const context = first && first.index < enospc.index ? first : undefined;
  const clause = enospcClause(scan.text, scan.lower, enospc.index);
  const isDiskFull = context !== undefined && !clause.vetoed;
  const out = verdict(
    scan,
    isDiskFull ? 'disk_full' : 'other_no_space',
    cut(scan.text, enospc)
  );
  if (clause.path !== undefined) out.path = clause.path;
  if (!isDiskFull) return out;
  out.pullContext = cut(scan.text, context);
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

function byFallback(scan: Scan): Classification {
  const cause = stripKubeletWrappers(scan.text);
  if (!isCauseless(scan, cause)) return verdict(scan, 'other', cause);
  return {
    ...verdict(scan, 'other', null),
    causeKnown: false,
    remedy: 'none',
  };
}

function classifyScan(scan: Scan, reason: string): Classification {
  const reasonClass = REASON_CLASSES.get(asciiLower(reason.trim()));
  if (reasonClass !== undefined) return byReason(scan, reasonClass);
  const early = firstRule(scan, EARLY_RULES, 0);
  if (early) return verdict(scan, early.cls, cut(scan.text, early.hit));
  const enospc = findEnospc(scan);
  if (enospc) return byEnospc(scan, enospc);
  const late =
    firstRule(scan, LATE_RULES, EARLY_RULES.length) ??
    firstRule(scan, WEAK_RULES, undefined);
  if (late) return verdict(scan, late.cls, cut(scan.text, late.hit));
  return byFallback(scan);
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
