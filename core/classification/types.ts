/**
 * The failure classes pullmedic tells apart. Only `disk_full` is remediated
 * by a prune and a volume roll; every other class is reported to on-call.
 *
 * @example
 * ```ts
 * const c: FailureClass = 'disk_full';
 * ```
 */
export const FAILURE_CLASSES = [
  'disk_full',
  'auth',
  'not_found',
  'rate_limited',
  'network',
  'tls',
  'platform',
  'invalid_name',
  'never_pull',
  'disk_pressure_eviction',
  'image_gc_failed',
  'other_no_space',
  'other',
] as const;

export type FailureClass = (typeof FAILURE_CLASSES)[number];

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
