import type { FailureClass } from '../../events/failure-classes.ts';
import { compilePhraseTable, type PhraseTable } from './phrase-table.ts';
import type { ContainerRuntime, StorageArea } from './types.ts';

/**
 * One row of the classification table: the wordings that put a message in
 * a class. Rows are tried in table order and the first row that matches
 * wins, so a row only has to beat the rows below it.
 *
 * - `phrases` are lower-case literals. All rows' phrases are compiled into
 *   one table ({@link RULE_PHRASE_TABLE}) and found in a single pass over
 *   the ASCII-lower-cased message; most wordings are fixed strings.
 * - `patterns` are for wordings a literal cannot say (a number, a word
 *   boundary, a case that matters); they run on the original message.
 *   Every quantifier is bounded so no input can make them backtrack badly.
 *
 * @example
 * ```ts
 * const row: Rule = { id: 'tls', class: 'tls', phrases: ['x509: '], patterns: [] };
 * ```
 */
export interface Rule {
  /** Stable name of the row, reported by `classify --explain`. */
  readonly id: string;
  readonly class: FailureClass;
  readonly phrases: readonly string[];
  readonly patterns: readonly RegExp[];
}

/**
 * A single word that can also be part of an image reference
 * (`acme/unauthorized-proxy:1`) only counts when it stands alone: not glued
 * to the characters a repository, tag or path is made of.
 */
function standalone(word: string, flags = ''): RegExp {
  return new RegExp(`(?<![\\w./:@-])${word}(?![\\w./-])`, flags);
}

/**
 * The ENOSPC wordings. `no space left on device` is Go's text for
 * syscall.ENOSPC; the bare errno name shows up in Node and C tools, and
 * Windows says ERROR_DISK_FULL in words. The errno name is matched in upper
 * case only and never glued to a tag or path, so an image tagged
 * `foo:ENOSPC` cannot make a pull look disk-full.
 *
 * @example
 * ```ts
 * ENOSPC_PHRASES.includes('no space left on device'); // true
 * ```
 */
export const ENOSPC_PHRASES: readonly string[] = [
  'no space left on device',
  'not enough space on the disk',
];

/**
 * The errno name, for wordings that print it instead of its text.
 *
 * @example
 * ```ts
 * ENOSPC_ERRNO.test('write /x: ENOSPC'); // true
 * ```
 */
export const ENOSPC_ERRNO: RegExp = /(?<![\w./:@-])ENOSPC(?![\w.-])/;

/**
 * Wordings that only an image pull (download, content ingest, layer
 * extract/apply/register, blob staging) produces. An ENOSPC counts as
 * disk_full when one of these comes before it: the same errno from
 * inotify, /dev/shm, a runc mount or a volume means something else, and a
 * false disk_full prunes a healthy node.
 *
 * Docker's own layer application speaks of tar files (`Error processing
 * tar file(exit status 1)`, `Untar re-exec error`, `ApplyLayer exit
 * status`), with or without the `failed to register layer` that wraps it:
 * those are the layer store filling up. The same wording from a build step
 * or a copy into a container is ruled out by {@link ENOSPC_VETO_CONTEXTS}.
 *
 * Deliberately absent, because they also show up outside pulls: a bare
 * `failed to pull`/`failed to unpack`/`failed to copy` (git-sync, apps
 * unpacking archives), a bare `tar: ` (an app's own tar), `failed to
 * create/prepare snapshot` (container creation), `creating read-write
 * layer` (CRI-O container creation).
 *
 * @example
 * ```ts
 * PULL_CONTEXT_PHRASES.includes('failed to extract layer'); // true
 * ```
 */
export const PULL_CONTEXT_PHRASES: readonly string[] = [
  // kubelet and CRI wrappers around a pull error (`failed to pull` alone
  // is also git-sync's and many apps' wording)
  'failed to pull image',
  'failed to pull and unpack image',
  'error pulling image',
  'image pull failed',
  'pulling image',
  'errimagepull',
  // the CRI call in kubelet and containerd logs (`PullImage "x" failed`)
  // and the ECS agent's pull error
  'pullimage ',
  'cannotpullcontainererror',
  // containerd 1.x and 2.x unpack (the transfer service's too), `ctr
  // images import`, and the content store
  'failed to extract layer',
  'extraction snapshot',
  // the unpacker's log line when a layer would not apply
  // (`msg="apply failure, attempting cleanup" error="…" key="extract-…"`)
  'apply failure, attempting cleanup',
  'failed to unpack image',
  'failed to ingest',
  'failed commit on ref',
  'io.containerd.content.v1.content',
  // Docker's layer store and blob download
  'failed to register layer',
  'applylayer',
  'processing tar file',
  'untar re-exec error',
  'untar exit status',
  'getimageblob',
  // containers/image and containers/storage (CRI-O, podman, buildah)
  'writing blob: ',
  'storing blob to file',
  'adding layer with blob',
  'committing the finished image',
  'copying system image',
];

/**
 * A pull word, for a write that failed inside a runtime's image store
 * (its content, metadata or snapshot store, Docker's layer store,
 * containers/storage layers): there the runtime's own wording may be no
 * more than `extraction snapshot removal failed` or `PullImage`. Matched
 * before the path and outside quoted image names, never on its own.
 *
 * @example
 * ```ts
 * PULL_WORDS.test('msg="extraction snapshot removal failed"'); // true
 * ```
 */
export const PULL_WORDS: RegExp = /pull|unpack|extract|ingest|blob/;

/**
 * Messages whose ENOSPC is about something other than the image store even
 * when a pull wraps it: the clause right before the errno names a process,
 * a watch or a mount, not a file write. Checked on the clause only, never on
 * the path, because a layer may well contain `/usr/include/linux/inotify.h`.
 *
 * @example
 * ```ts
 * ENOSPC_VETO_CLAUSES.includes('fork/exec'); // true
 * ```
 */
export const ENOSPC_VETO_CLAUSES: readonly string[] = [
  'fork/exec',
  'inotify',
  'watch',
  'shm',
  'unshare',
  'mounting',
  'mountvolume',
  'rootfs',
];

/**
 * Wordings of a build or a copy into a container: the layer that could not
 * be written is a build product, not a pulled image (`docker build`'s COPY
 * step, buildah committing a step). They speak of tar files and blobs as a
 * pull does, so they are read anywhere before the ENOSPC.
 *
 * @example
 * ```ts
 * ENOSPC_VETO_CONTEXTS.includes('committing container for step'); // true
 * ```
 */
export const ENOSPC_VETO_CONTEXTS: readonly string[] = [
  'committing container for step',
  'copying layers and metadata for container',
  'failed to copy files',
  'failed to copy directory',
];

/**
 * What a path tells about where a write failed, tried in order on the
 * ASCII-lower-cased path; the first match names the area. The image stores
 * come before the runtime's own state, so a layer that ships
 * `/etc/cloud-init/` is still a layer, and containers/storage (whose
 * layers also sit in `overlay/<id>/diff`) comes before Docker.
 *
 * Roots differ (`/var/lib/containerd`, k3s and RKE2's
 * `/var/lib/rancher/<k3s|rke2>/agent/containerd`, microk8s' snap, Docker
 * Desktop's `desktop-containerd`, Docker's data-root, containers/storage's
 * graphroot), so the areas are known by the directories the runtimes
 * create inside them. Every quantifier is bounded.
 *
 * @example
 * ```ts
 * STORAGE_AREAS.find(([, p]) => p.test('/proc/self/exe'))?.[0]; // 'kernel'
 * ```
 */
export const STORAGE_AREAS: readonly (readonly [StorageArea, RegExp])[] = [
  ['kernel', /^\/(?:proc|sys)\//],
  ['shared_memory', /^\/dev\/shm(?:\/|$)/],
  ['kubelet', /^\/var\/lib\/kubelet\/|\/kubelet\/pods\//],
  [
    'blob_staging',
    /^\/var\/tmp\/(?:container_images_storage|storage)\d{1,20}(?:\/|$)/,
  ],
  ['containerd_content', /\/io\.containerd\.content\.v1\.content(?:\/|$)/],
  ['containerd_metadata', /\/io\.containerd\.metadata\.v1\.bolt(?:\/|$)/],
  [
    'containerd_snapshots',
    /\/io\.containerd\.snapshotter\.v1\.[a-z0-9-]{1,32}(?:\/|$)/,
  ],
  ['containerd_unpack', /\/tmpmounts\/containerd-mount\d{0,20}(?:\/|$)/],
  [
    'storage_layers',
    /\/containers\/storage\/(?:overlay-(?:layers|images)(?:\/|$)|overlay\/[0-9a-f]{1,64}\/diff(?:\/|$)|tmp\/)/,
  ],
  [
    'docker_layers',
    /\/image\/[a-z0-9-]{1,32}\/(?:layerdb|imagedb)(?:\/|$)|\/tmp\/getimageblob|\/docker\/tmp\/|\/(?:overlay2?|aufs)\/[0-9a-z]{1,64}\/diff(?:\/|$)|\/aufs\/diff\//,
  ],
  [
    'runtime_state',
    /^\/(?:var\/)?run\/|\/io\.containerd\.(?:grpc\.v1\.cri|runtime\.[a-z0-9.]{1,16})\/|\/(?:docker|storage)\/(?:containers|volumes)\/|\/overlay-containers\/|\/merged(?:[./]|$)|-init(?:\/|$)/,
  ],
];

/**
 * The image stores: a write that failed there during a pull is a full
 * image disk, and pruning images frees it.
 *
 * @example
 * ```ts
 * IMAGE_STORE_AREAS.has('containerd_metadata'); // true
 * ```
 */
export const IMAGE_STORE_AREAS: ReadonlySet<StorageArea> = new Set<StorageArea>(
  [
    'blob_staging',
    'containerd_content',
    'containerd_metadata',
    'containerd_snapshots',
    'containerd_unpack',
    'docker_layers',
    'storage_layers',
  ]
);

/**
 * Areas that are never the image store: a write that failed there is out
 * of something else (kernel objects, shared memory, a pod's volume, the
 * runtime's per-container state on its own tmpfs), whatever wraps it.
 *
 * @example
 * ```ts
 * NOT_THE_IMAGE_STORE.has('shared_memory'); // true
 * ```
 */
export const NOT_THE_IMAGE_STORE: ReadonlySet<StorageArea> =
  new Set<StorageArea>(['kernel', 'shared_memory', 'kubelet', 'runtime_state']);

/**
 * The rows tried before the ENOSPC check. Their wordings are specific
 * enough that a message carrying them is about that, whatever else it says
 * (and none of them carries a pull ENOSPC, so disk_full only gets stricter).
 *
 * @example
 * ```ts
 * EARLY_RULES[0]?.class; // 'never_pull'
 * ```
 */
export const EARLY_RULES: readonly Rule[] = [
  {
    id: 'never-pull',
    class: 'never_pull',
    phrases: ['is not present with pull policy of never', 'errimageneverpull'],
    patterns: [],
  },
  {
    id: 'invalid-name',
    class: 'invalid_name',
    phrases: [
      'invalid reference format',
      "couldn't parse image reference",
      'failed to apply default image tag',
      'invalidimagename',
      'invalid image name',
      // CRI-O's short-name policy; never the bare word, an image may be
      // called acme/short-name-svc.
      'short-name "',
      'short-name resolution',
      'short-name alias',
      'short name mode',
      'unqualified-search registries',
      // podman 1.x/2.x and buildah: `image name provided is a short name
      // and no search registries are defined in …`
      'a short name and no search registries',
      // CRI-O before 1.20: `no registries configured while trying to pull
      // an unqualified image`
      'pull an unqualified image',
      'repository name must be lowercase',
      'repository name must be canonical',
      'is not a valid repository/tag',
    ],
    patterns: [],
  },
  {
    id: 'image-gc-failed',
    class: 'image_gc_failed',
    phrases: [
      'garbage collect required amount of images',
      'image garbage collection failed',
      'insufficient free disk space on the node',
      'failed to free sufficient space by deleting unused images',
      'freediskspacefailed',
      'imagegcfailed',
    ],
    patterns: [/\b(?:wanted|attempted) to free \d{1,20}(?: bytes)?, but/i],
  },
  {
    id: 'disk-pressure',
    class: 'disk_pressure_eviction',
    phrases: [
      'low on resource: ephemeral-storage',
      'low on resource: nodefs',
      'low on resource: imagefs',
      'low on resource: containerfs',
      'attempting to reclaim ephemeral-storage',
      'attempting to reclaim nodefs',
      'attempting to reclaim imagefs',
      'attempting to reclaim containerfs',
      'nodehasdiskpressure',
      'node.kubernetes.io/disk-pressure',
      'had disk pressure',
    ],
    // "[DiskPressure]" in old eviction messages, but not the recovery
    // event NodeHasNoDiskPressure.
    patterns: [/(?<!No)DiskPressure\b/],
  },
];

/**
 * The rows tried after the ENOSPC check, most specific cause first: a 429
 * page often also says "failed to copy", an auth failure may say "repository
 * does not exist", a TLS failure happens while "failing to authorize".
 *
 * @example
 * ```ts
 * LATE_RULES.map((r) => r.class)[0]; // 'rate_limited'
 * ```
 */
export const LATE_RULES: readonly Rule[] = [
  {
    id: 'rate-limited',
    class: 'rate_limited',
    phrases: [
      'toomanyrequests',
      'too many requests',
      'pull rate limit',
      'rate limit exceeded',
      'rate exceeded',
      'qps exceeded',
      'throttlingexception',
    ],
    patterns: [/\bstatus(?: code)?:? 429\b/i],
  },
  {
    id: 'auth',
    class: 'auth',
    phrases: [
      'pull access denied',
      'no basic auth credentials',
      'authentication required',
      'authorization failed',
      'insufficient_scope',
      'insufficient scope',
      "may require 'docker login'",
      'may require authorization',
      'not authorized',
      'access denied',
      'access to the resource is denied',
      'denied on resource',
      'does not match bearer token',
      'authorization token has expired',
      'incorrect username or password',
      'invalid username/password',
    ],
    patterns: [
      standalone('unauthorized', 'i'),
      standalone('forbidden', 'i'),
      /(?:^|[\s:"])denied: /i,
      /\bstatus(?: code)?:? 40[13]\b/i,
    ],
  },
  {
    id: 'tls',
    class: 'tls',
    phrases: [
      'x509: ',
      'certificate signed by unknown authority',
      'certificate has expired',
      'certificate is not valid',
      'certificate is valid for',
      'failed to verify certificate',
      'unknown certificate authority',
      'server gave http response to https client',
      'first record does not look like a tls handshake',
      'certificate relies on legacy common name field',
    ],
    // Lower-case "tls: " is Go's crypto/tls error prefix; "TLS handshake
    // timeout" is net/http's and belongs to network.
    patterns: [/\btls: /],
  },
  {
    id: 'platform',
    class: 'platform',
    phrases: [
      'no match for platform',
      'no matching manifest for',
      'exec format error',
      'does not match the specified platform',
      'no image found in manifest list for architecture',
      'cannot be used on this platform',
    ],
    patterns: [],
  },
  {
    id: 'not-found',
    class: 'not_found',
    phrases: [
      'manifest unknown',
      'name unknown: ',
      'repository name not known',
      'requested image not found',
      'does not exist in the registry',
      'repositorynotfoundexception',
      'imagenotfoundexception',
      'was deleted or has expired',
      'not found in repository',
      '404 not found',
    ],
    patterns: [
      /\b(?:manifest for|repository|image|tag|artifact|content at) \\?"?[^\s"\\]{1,512}\\?"? (?:was )?not found/i,
      // containerd's errdefs.ErrNotFound after the reference it resolved:
      // `failed to resolve reference "x": x: not found`. Only after a bare
      // reference, because containerd says `: not found` about tasks,
      // containers and local content too.
      /(?:^|: )[^\s"]{1,512}: not found(?![\w-])/i,
    ],
  },
  {
    id: 'network',
    class: 'network',
    phrases: [
      'i/o timeout',
      'dial tcp',
      'dial udp',
      'no such host',
      'server misbehaving',
      'name resolution',
      'connection refused',
      'connection reset',
      'connection timed out',
      'operation timed out',
      'no route to host',
      'network is unreachable',
      'deadline exceeded',
      'client.timeout exceeded',
      'timeout exceeded while awaiting headers',
      'timeout awaiting response headers',
      'tls handshake timeout',
      'unexpected eof',
      'request canceled',
      'context canceled',
      'because of no progress',
      'proxyconnect',
      'broken pipe',
      'use of closed network connection',
      'goaway',
      '502 bad gateway',
      '503 service unavailable',
      '504 gateway time',
      'registry is unavailable',
      'registryunavailable',
      'unable to ping registry',
    ],
    patterns: [/(?:^|: )EOF(?!\w)/],
  },
];

/**
 * Last resort: the gRPC status code the kubelet's `rpc error: code = X`
 * wrapper carries, for runtime errors whose text says nothing else.
 *
 * @example
 * ```ts
 * WEAK_RULES.some((r) => r.class === 'not_found'); // true
 * ```
 */
export const WEAK_RULES: readonly Rule[] = [
  {
    id: 'grpc-not-found',
    class: 'not_found',
    phrases: [],
    patterns: [/\bcode = NotFound\b/],
  },
  {
    id: 'grpc-auth',
    class: 'auth',
    phrases: [],
    patterns: [/\bcode = (?:Unauthenticated|PermissionDenied)\b/],
  },
  {
    id: 'grpc-network',
    class: 'network',
    phrases: [],
    patterns: [/\bcode = (?:DeadlineExceeded|Unavailable)\b/],
  },
];

/**
 * Event reasons that decide the class by themselves: the kubelet only emits
 * them for that condition (ImageGCFailed also covers "failed to get imageFs
 * info", which names no size but is still the GC failing).
 *
 * @example
 * ```ts
 * REASON_CLASSES.get('freediskspacefailed'); // 'image_gc_failed'
 * ```
 */
export const REASON_CLASSES: ReadonlyMap<string, FailureClass> = new Map<
  string,
  FailureClass
>([
  ['errimageneverpull', 'never_pull'],
  ['invalidimagename', 'invalid_name'],
  ['freediskspacefailed', 'image_gc_failed'],
  ['imagegcfailed', 'image_gc_failed'],
  ['nodehasdiskpressure', 'disk_pressure_eviction'],
]);

/**
 * The signs of each runtime's wording, in priority order: the first group
 * with a hit names the runtime. Docker's daemon wraps whatever its own
 * store says, so its wrapper wins; its weaker signs (shared with the layer
 * code containers/storage inherited) come last. podman and buildah share
 * CRI-O's libraries and so its signs.
 *
 * @example
 * ```ts
 * RUNTIME_SIGNS[0]?.[0]; // 'docker'
 * ```
 */
export const RUNTIME_SIGNS: readonly (readonly [
  ContainerRuntime,
  readonly string[],
])[] = [
  ['docker', ['error response from daemon', 'api error (', 'dockershim']],
  [
    'cri-o',
    [
      'writing blob',
      'storing blob',
      'reading blob',
      'committing the finished image',
      'adding layer with blob',
      'reading manifest',
      'initializing source docker://',
      'choosing an image from manifest list',
      'copying system image',
      'short-name',
      'unqualified-search',
      'unqualified image',
      'no search registries',
      'image not known',
      '/var/lib/containers/storage',
      'cri-o',
    ],
  ],
  [
    'containerd',
    [
      'failed to pull and unpack image',
      'failed to extract layer',
      'failed to resolve reference',
      'failed commit on ref',
      'failed to get sandbox image',
      'httpreadseeker',
      'httpreaderseeker',
      'cancel pulling image',
      'containerd',
    ],
  ],
  [
    'docker',
    [
      'failed to register layer',
      'untar re-exec',
      'getimageblob',
      'applylayer exit status',
      '/var/lib/docker',
      'error pulling image (',
    ],
  ],
];

/**
 * Where the runtime signs start among the groups of
 * {@link RULE_PHRASE_TABLE}: after one group per EARLY_RULES and
 * LATE_RULES row.
 *
 * @example
 * ```ts
 * RUNTIME_SIGNS_AT === EARLY_RULES.length + LATE_RULES.length; // true
 * ```
 */
export const RUNTIME_SIGNS_AT: number = EARLY_RULES.length + LATE_RULES.length;

/**
 * The group of {@link RULE_PHRASE_TABLE} that holds the
 * {@link PULL_CONTEXT_PHRASES}: the last one, after the runtime signs.
 *
 * @example
 * ```ts
 * PULL_CONTEXT_AT === RULE_PHRASE_TABLE.groups - 1; // true
 * ```
 */
export const PULL_CONTEXT_AT: number = RUNTIME_SIGNS_AT + RUNTIME_SIGNS.length;

/**
 * Every phrase a message is read for, in one table so that it is read
 * once: one group per EARLY_RULES and LATE_RULES row in table order
 * (EARLY_RULES first), then one group per runtime of
 * {@link RUNTIME_SIGNS} (from {@link RUNTIME_SIGNS_AT}), then the
 * {@link PULL_CONTEXT_PHRASES} (at {@link PULL_CONTEXT_AT}).
 *
 * @example
 * ```ts
 * RULE_PHRASE_TABLE.groups === PULL_CONTEXT_AT + 1; // true
 * ```
 */
export const RULE_PHRASE_TABLE: PhraseTable = compilePhraseTable([
  ...[...EARLY_RULES, ...LATE_RULES].map((rule) => rule.phrases),
  ...RUNTIME_SIGNS.map(([, signs]) => signs),
  PULL_CONTEXT_PHRASES,
]);
