import type { NodeOrigin } from './ports.ts';

/** Bottlerocket keeps containerd on its data volume; others on the root. */
export const BOTTLEROCKET_DATA_DEVICE = '/dev/xvdb';

/**
 * The device that holds containerd's root on this node's AMI family.
 *
 * @example
 * ```ts
 * containerdDeviceOf({ amiFamily: 'bottlerocket', rootDeviceName: '/dev/xvda' });
 * // '/dev/xvdb'
 * ```
 */
export const containerdDeviceOf = (
  origin: Pick<NodeOrigin, 'amiFamily' | 'rootDeviceName'>
): string =>
  origin.amiFamily === 'bottlerocket'
    ? BOTTLEROCKET_DATA_DEVICE
    : origin.rootDeviceName;

/** The attached volume that holds containerd, when the instance has it. */
export const containerdVolumeOf = (
  origin: Pick<NodeOrigin, 'amiFamily' | 'rootDeviceName' | 'volumes'>
): { deviceName: string; sizeGiB: number } | undefined => {
  const device = containerdDeviceOf(origin);
  return origin.volumes.find((v) => v.deviceName === device);
};
