import { type Policy, type RollCause, targetVolumeGiB } from './policy.ts';
import type { BlockDeviceMapping, LaunchTemplateData } from './ports.ts';

export type VolumePlan =
  | {
      kind: 'grow';
      data: LaunchTemplateData;
      deviceName: string;
      oldSizeGiB: number;
      newSizeGiB: number;
    }
  | { kind: 'no-change'; deviceName: string; sizeGiB: number; reason: string };

/**
 * Plans a launch template version whose containerd volume is bigger.
 *
 * A BlockDeviceMappings list in LaunchTemplateData replaces the inherited
 * one as a whole, so the whole list is copied and only the containerd
 * device's VolumeSize changes; type, IOPS, throughput, encryption, KMS key
 * and the rest stay. A device the template does not map yet (the AMI's
 * default) is added as gp3. Never shrinks, never exceeds the maximum.
 *
 * @example
 * ```ts
 * planVolumeGrowth(data, '/dev/xvda', 20, DEFAULT_POLICY);
 * // { kind: 'grow', oldSizeGiB: 20, newSizeGiB: 100, data: { … } }
 * ```
 */
export function planVolumeGrowth(
  data: LaunchTemplateData,
  deviceName: string,
  fallbackSizeGiB: number | undefined,
  policy: Policy,
  cause: RollCause = 'too-little-freed'
): VolumePlan {
  const mappings = data.BlockDeviceMappings ?? [];
  const existing = mappings.find((m) => m.DeviceName === deviceName);
  const currentGiB = existing?.Ebs?.VolumeSize ?? fallbackSizeGiB;
  if (currentGiB === undefined) {
    return {
      kind: 'no-change',
      deviceName,
      sizeGiB: 0,
      reason: `neither the template nor the instance says how big ${deviceName} is`,
    };
  }
  const target = targetVolumeGiB(currentGiB, policy, cause);
  if (target === null) {
    return {
      kind: 'no-change',
      deviceName,
      sizeGiB: currentGiB,
      reason:
        cause === 'below-minimum' && currentGiB < policy.maxVolumeGiB
          ? `the template already gives ${deviceName} ${currentGiB} GiB, at or above the group minimum of ${policy.minVolumeGiB} GiB`
          : `${deviceName} is already ${currentGiB} GiB; the configured maximum is ${policy.maxVolumeGiB} GiB`,
    };
  }
  const grown: BlockDeviceMapping[] = existing
    ? mappings.map((m) =>
        m === existing
          ? {
              ...m,
              // gp3 where the template did not say: the EBS default is gp2.
              Ebs: { VolumeType: 'gp3', ...m.Ebs, VolumeSize: target },
            }
          : m
      )
    : [
        ...mappings,
        {
          DeviceName: deviceName,
          Ebs: { VolumeSize: target, VolumeType: 'gp3' },
        },
      ];
  return {
    kind: 'grow',
    data: {
      ...structuredClone(data),
      BlockDeviceMappings: structuredClone(grown),
    },
    deviceName,
    oldSizeGiB: currentGiB,
    newSizeGiB: target,
  };
}
