import type { FailureClass } from '../../events/failure-classes.ts';

/** The container runtime whose wording the message carries. */
export type ContainerRuntime = 'containerd' | 'cri-o' | 'docker';

/**
 * For disk_full: which filesystem filled up. `crio_tmp` (CRI-O's /var/tmp
 * staging dir) is not freed by pruning images.
 */
export type FullFilesystem =
  | 'containerd_root'
  | 'content_store'
  | 'crio_tmp'
  | 'docker_root'
  | 'unknown';

/**
 * Where on the node a write that hit ENOSPC was going, read from its path
 * (`STORAGE_AREAS` in rules.ts):
 * - the image stores, which a pull fills and pruning images frees:
 *   `containerd_content` (blob ingest and blobs), `containerd_metadata`
 *   (bolt meta.db), `containerd_snapshots` (unpacked layers),
 *   `containerd_unpack` (the temporary mounts a layer is applied through),
 *   `docker_layers` (Docker's layer and image store, blob downloads),
 *   `storage_layers` (containers/storage layers and images: CRI-O,
 *   podman), `blob_staging` (containers/image's blob staging in /var/tmp);
 * - never the image store: `kernel` (/proc, /sys), `shared_memory`
 *   (/dev/shm), `kubelet` (pod directories and volumes), `runtime_state`
 *   (per-container state, volumes and logs, /run);
 * - `other`: anything else (often a path inside the layer being written).
 *
 * @example
 * ```ts
 * const a: StorageArea = 'containerd_metadata';
 * ```
 */
export type StorageArea =
  | 'containerd_content'
  | 'containerd_metadata'
  | 'containerd_snapshots'
  | 'containerd_unpack'
  | 'docker_layers'
  | 'storage_layers'
  | 'blob_staging'
  | 'kernel'
  | 'shared_memory'
  | 'kubelet'
  | 'runtime_state'
  | 'other';

/**
 * What remediation may do with a classification:
 * - `prune`: prune the node's image cache (disk_full on the image store);
 * - `escalate`: a person must act (e.g. CRI-O /var/tmp full);
 * - `grow_volume`: recommend a bigger volume, no prune (image_gc_failed);
 * - `notify`: tell on-call, nothing to remediate;
 * - `none`: carries no cause (bare ErrImagePull / BackOff), join an incident.
 */
export type Remedy = 'prune' | 'escalate' | 'grow_volume' | 'notify' | 'none';

/** What the classifier reads: the parts of a Kubernetes Event it needs. */
export interface ClassifierInput {
  reason?: string | null;
  message: string;
  type?: string | null;
}

/**
 * The verdict on one message, with what the message tells.
 *
 * @example
 * ```ts
 * const c: Classification = {
 *   class: 'disk_full', evidence: 'no space left on device',
 *   causeKnown: true, remedy: 'prune', runtime: 'containerd',
 *   filesystem: 'containerd_root',
 * };
 * ```
 */
export interface Classification {
  class: FailureClass;
  /** The phrase of the message that decided the class; null without a cause. */
  evidence: string | null;
  /** False for events that name no cause ("Error: ErrImagePull", bare BackOff). */
  causeKnown: boolean;
  remedy: Remedy;
  image?: string;
  registry?: string;
  layerDigest?: string;
  /** The path that filled up, for ENOSPC messages. */
  path?: string;
  /**
   * disk_full: the image-pull phrase that made the ENOSPC count as a pull
   * (`evidence` holds the ENOSPC phrase itself). A substring of the message.
   */
  pullContext?: string;
  runtime?: ContainerRuntime;
  filesystem?: FullFilesystem;
  /** image_gc_failed: bytes the kubelet wanted to free and bytes it freed. */
  gcWantedBytes?: number;
  gcFreedBytes?: number;
}

/**
 * Why a message got its verdict, for a person reading a wrong one from the
 * field: the rule that decided and what it read. Every text is a substring
 * of the message.
 *
 * Rule ids: `reason` (the event reason alone decides), a row of the rule
 * table (`invalid-name`, `auth`, `not-found`, `grpc-auth`, …), for ENOSPC
 * `enospc/pull-phrase` and `enospc/runtime-storage` (disk_full: a pull
 * wording, or a pull word before a path in a runtime's image store) or
 * `enospc/veto-clause`, `enospc/veto-path`, `enospc/veto-context`,
 * `enospc/not-a-pull` (other_no_space), and `fallback/cause` or
 * `fallback/no-cause` when nothing matched.
 *
 * @example
 * ```ts
 * const e: Explanation = {
 *   rule: 'enospc/runtime-storage',
 *   pull: { text: 'extract', kind: 'pull-word' },
 *   enospc: 'no space left on device',
 *   path: '/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db',
 *   area: 'containerd_metadata',
 * };
 * ```
 */
export interface Explanation {
  rule: string;
  /**
   * ENOSPC messages: what made the write count as part of a pull, a pull
   * wording (`phrase`) or a pull word before an image store path
   * (`pull-word`). Absent when nothing did.
   */
  pull?: { text: string; kind: 'phrase' | 'pull-word' };
  /** The ENOSPC wording itself. */
  enospc?: string;
  /** Where the write failed, when the message names a path. */
  path?: string;
  area?: StorageArea;
  /** What ruled disk_full out: a clause word, a context wording or an area. */
  veto?: string;
}
