import { compilePhraseTable, type Hit, scanPhrases } from './phrase-table.ts';
import {
  ENOSPC_VETO_CLAUSES,
  NOT_THE_IMAGE_STORE,
  RUNTIME_SIGNS,
  STORAGE_AREAS,
} from './rules.ts';
import type { ContainerRuntime, FullFilesystem, StorageArea } from './types.ts';

const NON_ASCII = /[\u0080-\uffff]/;
const UPPER_RUN = /[A-Z]+/g;

/**
 * Lower-cases A–Z only, so the result has exactly the length of the input
 * and an index found in it is an index into the original message (evidence
 * is cut from the original). `String#toLowerCase` would fold some non-ASCII
 * letters into ASCII ones (the Kelvin sign into `k`) or change the length
 * (`İ`), so it is only used when the text is plain ASCII.
 *
 * @example
 * ```ts
 * asciiLower('No Space'); // 'no space'
 * ```
 */
export function asciiLower(text: string): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  return text.replace(UPPER_RUN, (run) => run.toLowerCase());
}

// The kubelet (old and new), Docker's FailedSync and the CRI each put a
// prefix before the runtime's own error. Peeled in a loop, sticky, in any
// order, so nesting like `(combined…): Failed to pull image "x": rpc error:
// code = Unknown desc = …` needs no grammar.
const WRAPPERS: readonly RegExp[] = [
  /\s{1,64}/y,
  /\(combined from similar events\):/y,
  /Error syncing pod, skipping:/y,
  /failed to "[^"]{0,64}" for "[^"]{0,256}" with [A-Za-z]{1,64}: "/y,
  /(?:Failed to pull image|Failed to inspect image|Back-off pulling image|Failed to apply default image tag) \\?"[^"\\]{0,512}\\?"(?::|$)/y,
  /Failed to create pod sandbox:/y,
  /Error:/y,
  /(?:ErrImagePull|ImagePullBackOff|RegistryUnavailable|SignatureValidationFailed|ImageInspectError):/y,
  /rpc error: code = [A-Za-z]{1,32} desc = /y,
];
const MAX_WRAPPER_ROUNDS = 24;
const TRAILING_JUNK = new Set([' ', '\t', '\n', '\r', '"', '\\']);

function peelOnce(message: string, start: number): number {
  let at = start;
  for (const wrapper of WRAPPERS) {
    wrapper.lastIndex = at;
    const m = wrapper.exec(message);
    if (m) at += m[0].length;
  }
  return at;
}

/**
 * The runtime's own error inside a kubelet message: drops the
 * `(combined from similar events): `, `Failed to pull image "x": `,
 * `Back-off pulling image "x": ErrImagePull: `, `Error: `, old FailedSync
 * `failed to "StartContainer" for "c" with ErrImagePull: "…"` and
 * `rpc error: code = … desc = ` wrappers, and FailedSync's closing quote.
 * Always a substring of the message; empty when the message carries no
 * cause beyond the wrappers (a bare BackOff).
 *
 * @example
 * ```ts
 * stripKubeletWrappers(
 *   'Failed to pull image "a": rpc error: code = Unknown desc = boom'
 * ); // 'boom'
 * stripKubeletWrappers('Back-off pulling image "a"'); // ''
 * ```
 */
export function stripKubeletWrappers(message: string): string {
  let start = 0;
  for (let round = 0; round < MAX_WRAPPER_ROUNDS; round++) {
    const next = peelOnce(message, start);
    if (next === start) break;
    start = next;
  }
  let end = message.length;
  while (end > start && TRAILING_JUNK.has(message.charAt(end - 1))) end--;
  // FailedSync keeps Go's escaped newline: `…credentials\n"`.
  if (message.endsWith('\\n', end)) end -= 2;
  return message.slice(start, end).trim();
}

const IMAGE_QUOTED =
  /(?:pull(?:ing|ed)? image|pull and unpack image|inspect image|sandbox image|default image tag|Container image|parse image reference|resolve reference|short-name) \\?"([^"\\\s]{1,512})\\?"/i;
const IMAGE_UNQUOTED: readonly RegExp[] = [
  /\bmanifest for ([^\s"]{1,512}) not found/i,
  /\bpull access denied for ([^\s",]{1,512}),/i,
  /\binitializing source docker:\/\/([^\s"]{1,512}?):\s/i,
  /\b(?:image pull failed for|cancel pulling image) ([^\s",]{1,512})/i,
];
const IMAGE_READING_MANIFEST =
  /\breading manifest (\S{1,256}) in (\S{1,512}?):\s/i;
const IMAGE_DOCKER_V1 =
  /\bError pulling image \(([^\s)]{1,128})\) from ([^\s,]{1,512}),/i;

/**
 * The image reference the message is about: the kubelet's quoted one
 * (`Failed to pull image "x"`, `Back-off pulling image \"x\"`, the pause
 * image of a sandbox) when there is one, else what the runtime names
 * (`manifest for x not found`, `reading manifest TAG in REPO`, …).
 *
 * @example
 * ```ts
 * extractImage('Failed to pull image "nginx:1.27": boom'); // 'nginx:1.27'
 * ```
 */
export function extractImage(text: string): string | undefined {
  const quoted = IMAGE_QUOTED.exec(text);
  if (quoted) return quoted[1];
  for (const pattern of IMAGE_UNQUOTED) {
    const m = pattern.exec(text);
    if (m) return m[1];
  }
  const manifest = IMAGE_READING_MANIFEST.exec(text);
  if (manifest) {
    const [, ref = '', repo = ''] = manifest;
    return `${repo}${ref.startsWith('sha256:') ? '@' : ':'}${ref}`;
  }
  const v1 = IMAGE_DOCKER_V1.exec(text);
  if (v1) return `${v1[2]}:${v1[1]}`;
  return undefined;
}

/**
 * The registry host of an image reference, with Docker's defaulting: a
 * first path component that has a dot or a port, or is `localhost`, is a
 * host; anything else lives on Docker Hub.
 *
 * @example
 * ```ts
 * registryOf('602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.9');
 * // '602401143452.dkr.ecr.us-west-2.amazonaws.com'
 * registryOf('nginx'); // 'docker.io'
 * ```
 */
export function registryOf(image: string): string | undefined {
  const ref = image.startsWith('docker://') ? image.slice(9) : image;
  const slash = ref.indexOf('/');
  if (slash === 0) return undefined;
  if (slash < 0) return 'docker.io';
  const first = ref.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') {
    return asHost(first);
  }
  return 'docker.io';
}

// A DNS name has at most 253 characters; anything longer is not a registry
// (and would not pass the event schema).
const MAX_HOST = 253;

function asHost(candidate: string): string | undefined {
  return candidate.length > MAX_HOST ? undefined : candidate.toLowerCase();
}

const REGISTRY_URL =
  /\bhttps?:\/\/([A-Za-z0-9.-]{1,253}(?::\d{1,5})?)\/v[12]\//i;

/**
 * The registry host from a registry API URL in the message
 * (`Get https://host/v2/…`), for messages that name no image (Docker's
 * `Failed to pull image ""`).
 *
 * @example
 * ```ts
 * registryFromUrl('Get https://r.example.com/v2/a/manifests/1: x');
 * // 'r.example.com'
 * ```
 */
export function registryFromUrl(text: string): string | undefined {
  const host = REGISTRY_URL.exec(text)?.[1];
  return host === undefined ? undefined : asHost(host);
}

const LAYER_DIGEST =
  /layer(?: | \([^\s)]{1,128} | with blob \\?"|-)sha256:([0-9a-f]{64})/i;
const BLOB_DIGEST = /\bblob \\?"?sha256:([0-9a-f]{64})/i;

/**
 * The digest of the layer being fetched or unpacked: containerd 1.x
 * `failed to extract layer sha256:…`, 2.x `failed to extract layer (<media
 * type> sha256:…)`, its ingest ref `layer-sha256:…`, containers/storage
 * `adding layer with blob "sha256:…"`. Never the image's own digest.
 *
 * @example
 * ```ts
 * extractLayerDigest(`failed to extract layer sha256:${'a'.repeat(64)}: x`);
 * // 'sha256:aaaa…'
 * ```
 */
export function extractLayerDigest(text: string): string | undefined {
  const m = LAYER_DIGEST.exec(text) ?? BLOB_DIGEST.exec(text);
  return m ? `sha256:${m[1]?.toLowerCase()}` : undefined;
}

/** What the text right before an ENOSPC tells about it. */
export interface EnospcClause {
  /** The path the failed syscall was writing, when the clause names one. */
  path?: string;
  /** Where that path starts in the message. */
  pathAt?: number;
  /** Which part of the node the path belongs to. */
  area?: StorageArea;
  /** True when the clause says the ENOSPC is not about the image store. */
  vetoed: boolean;
  /** The clause word (`inotify`) or the area (`kubelet`) that vetoed. */
  vetoedBy?: string;
}

const CLAUSE_WINDOW = 2048;
const MAX_PATH = 1024;

function pathStart(window: string): number {
  if (window.startsWith('/')) return 0;
  const at = Math.max(window.lastIndexOf(' /'), window.lastIndexOf('"/'));
  return at < 0 ? -1 : at + 1;
}

function cutPath(raw: string): string | undefined {
  let end = raw.length;
  for (const stop of ['"', '\\', ': ']) {
    const at = raw.indexOf(stop);
    if (at >= 0 && at < end) end = at;
  }
  let path = raw.slice(0, Math.min(end, MAX_PATH));
  while (path.endsWith(':') || path.endsWith(' ')) path = path.slice(0, -1);
  return path.length > 1 ? path : undefined;
}

/**
 * Which part of the node a path belongs to: a runtime's image store (the
 * containerd content, metadata and snapshot stores under any root, Docker's
 * layer store, containers/storage layers, the blob staging dir), or a place
 * that is never the image store (the kernel's filesystems, /dev/shm, the
 * kubelet's pod directories, the runtime's per-container state), or
 * `other`.
 *
 * @example
 * ```ts
 * storageArea('/var/lib/rancher/rke2/agent/containerd/io.containerd.metadata.v1.bolt/meta.db');
 * // 'containerd_metadata'
 * storageArea('/var/lib/kubelet/pods/u/volumes/kubernetes.io~empty-dir/x'); // 'kubelet'
 * ```
 */
export function storageArea(path: string): StorageArea {
  const lower = asciiLower(path);
  for (const [area, pattern] of STORAGE_AREAS) {
    if (pattern.test(lower)) return area;
  }
  return 'other';
}

/**
 * Reads the clause that ends at an ENOSPC phrase (`write /path: ` in `write
 * /path: no space left on device`): which path filled up, which part of the
 * node it is, and whether the clause vetoes disk_full (`fork/exec`,
 * `inotify_add_watch`, `mounting shm tmpfs`, or a path that is never the
 * image store: /dev/shm, a pod volume, the runtime's container state).
 *
 * @example
 * ```ts
 * const text = 'write /var/lib/containerd/x: no space left on device';
 * enospcClause(text, text.toLowerCase(), text.indexOf('no space'));
 * // { path: '/var/lib/containerd/x', pathAt: 6, area: 'other', vetoed: false }
 * ```
 */
export function enospcClause(
  text: string,
  lower: string,
  at: number
): EnospcClause {
  const from = Math.max(0, at - CLAUSE_WINDOW);
  const window = text.slice(from, at);
  const lowerWindow = lower.slice(from, at);
  // The clause starts after the last ": " that is not the one right before
  // the errno (`…: write /x: no space` → `write /x: `).
  const separator = lowerWindow.lastIndexOf(': ', lowerWindow.length - 3);
  const clauseStart = separator < 0 ? 0 : separator + 2;
  const start = pathStart(window.slice(clauseStart));
  const path =
    start < 0 ? undefined : cutPath(window.slice(clauseStart + start));
  const head = lowerWindow.slice(
    clauseStart,
    start < 0 ? undefined : clauseStart + start
  );
  const token = ENOSPC_VETO_CLAUSES.find((word) => head.includes(word));
  if (path === undefined) {
    return token === undefined ? { vetoed: false } : vetoedBy(token);
  }
  const area = storageArea(path);
  const out: EnospcClause = {
    path,
    pathAt: from + clauseStart + start,
    area,
    vetoed: false,
  };
  const veto = token ?? (NOT_THE_IMAGE_STORE.has(area) ? area : undefined);
  return veto === undefined ? out : { ...out, vetoed: true, vetoedBy: veto };
}

function vetoedBy(token: string): EnospcClause {
  return { vetoed: true, vetoedBy: token };
}

const RUNTIME_TABLE = compilePhraseTable(
  RUNTIME_SIGNS.map(([, signs]) => signs)
);

/**
 * The container runtime whose wording the (lower-cased) message carries,
 * when it is unmistakable.
 *
 * @example
 * ```ts
 * detectRuntime('failed to pull and unpack image "x": …'); // 'containerd'
 * ```
 */
export function detectRuntime(lower: string): ContainerRuntime | undefined {
  return runtimeOf(scanPhrases(RUNTIME_TABLE, lower), 0);
}

/**
 * The runtime from a scan that already read {@link RUNTIME_SIGNS}, as
 * groups from `offset` on (classify reads them in the same pass as the
 * rule phrases): the first group with a hit.
 *
 * @example
 * ```ts
 * runtimeOf([undefined, { index: 0, length: 10 }], 1); // 'docker'
 * ```
 */
export function runtimeOf(
  hits: readonly (Hit | undefined)[],
  offset: number
): ContainerRuntime | undefined {
  for (let i = 0; i < RUNTIME_SIGNS.length; i++) {
    if (hits[offset + i] !== undefined) return RUNTIME_SIGNS[i]?.[0];
  }
  return undefined;
}

/**
 * Which filesystem an image-pull ENOSPC filled. CRI-O stages every blob in
 * `/var/tmp` (containers/image `storing blob to file`) before it reaches
 * containers/storage, so there pruning images frees nothing; unless the
 * staging file is inside the storage root itself.
 *
 * @example
 * ```ts
 * fullFilesystem('write …/io.containerd.content.v1.content/ingest/…', undefined, 'containerd');
 * // 'content_store'
 * ```
 */
export function fullFilesystem(
  lower: string,
  path: string | undefined,
  runtime: ContainerRuntime | undefined
): FullFilesystem {
  const p = path ?? '';
  if (isCrioStaging(lower, p)) return 'crio_tmp';
  if (
    p.includes('io.containerd.content.v1.content') ||
    lower.includes('failed commit on ref')
  ) {
    return 'content_store';
  }
  if (runtime === 'docker' || p.startsWith('/var/lib/docker/')) {
    return 'docker_root';
  }
  if (
    runtime === 'containerd' ||
    p.includes('io.containerd.snapshotter') ||
    p.includes('/containerd/')
  ) {
    return 'containerd_root';
  }
  return 'unknown';
}

function isCrioStaging(lower: string, path: string): boolean {
  if (path.startsWith('/var/lib/containers/')) return false;
  if (lower.includes('storing blob to file')) return true;
  return (
    path.startsWith('/var/tmp/') &&
    lower.includes('writing blob') &&
    !lower.includes('adding layer with blob')
  );
}

const GC_BYTES =
  /\b(?:wanted|attempted) to free (\d{1,20})(?: bytes)?, but (?:only found (\d{1,20})|freed (\d{1,20}))/i;
const GC_FREED_ONLY = /\(freed (\d{1,20}) bytes\)/i;

/**
 * The sizes an image GC failure reports: "Wanted to free N bytes, but freed
 * M bytes" (kubelet < 1.26), "Attempted to free N bytes, but only found M
 * bytes eligible to free" (1.26+), "…deleting unused images (freed M
 * bytes)" (1.34+, no wanted size).
 *
 * @example
 * ```ts
 * parseGcBytes('Wanted to free 10 bytes, but freed 2 bytes');
 * // { wanted: 10, freed: 2 }
 * ```
 */
export function parseGcBytes(text: string): {
  wanted?: number;
  freed?: number;
} {
  const m = GC_BYTES.exec(text);
  if (m) {
    return { wanted: Number(m[1]), freed: Number(m[2] ?? m[3]) };
  }
  const freed = GC_FREED_ONLY.exec(text);
  return freed ? { freed: Number(freed[1]) } : {};
}
