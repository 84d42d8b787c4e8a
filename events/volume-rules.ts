/** Which rule decided the volume that holds containerd, in the order tried. */
export const CONTAINERD_VOLUME_RULES = [
  /** The prune measured it: its volume id (or Xen device) on the instance. */
  'prune-report',
  /** Bottlerocket keeps containerd on its data volume, /dev/xvdb. */
  'bottlerocket-data-volume',
  /** The template maps /dev/xvdb and its user data mounts it for containerd. */
  'launch-template-data-volume',
  /**
   * No template at hand, and the instance has /dev/xvdb attached: the
   * nodeadm layout's volume, most likely (its user data is not read).
   */
  'instance-data-volume',
  /** Nothing says otherwise: the root volume. */
  'root-volume',
] as const;
export type ContainerdVolumeRule = (typeof CONTAINERD_VOLUME_RULES)[number];
