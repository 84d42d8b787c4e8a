import type { PruneReport } from '../events/schemas.ts';
import type { ContainerdVolumeRule } from '../events/volume-rules.ts';
import type { LaunchTemplateData, NodeOrigin } from './ports.ts';

/** Bottlerocket keeps containerd on its data volume; others on the root. */
export const BOTTLEROCKET_DATA_DEVICE = '/dev/xvdb';

/**
 * The data volume the project's nodeadm layout mounts at
 * /var/lib/containerd: infra/terraform/launch-template.tf maps an EBS
 * volume as `/dev/xvdb` beside the root, and infra/nodeadm/user-data.mime
 * (the template's user data) formats it and mounts it there (on Nitro, the
 * NVMe disk whose EBS device name is xvdb) before containerd starts.
 */
export const NODEADM_DATA_DEVICE = '/dev/xvdb';

/**
 * Whether a template's user data mounts the nodeadm data volume at
 * /var/lib/containerd, as infra/nodeadm/user-data.mime does: it names both.
 * A /dev/xvdb the user data does not mount there holds something else.
 * User data pullmedic cannot read (gzip) does not count.
 */
const userDataMountsContainerd = (userData: unknown): boolean => {
  if (typeof userData !== 'string') return false;
  let text: string;
  try {
    text = atob(userData);
  } catch {
    return false;
  }
  return text.includes('/var/lib/containerd') && text.includes('xvdb');
};

/** The volume that holds containerd, and why pullmedic thinks so. */
export interface ContainerdVolume {
  deviceName: string;
  /** Its size, when the instance or the template says. */
  sizeGiB?: number;
  rule: ContainerdVolumeRule;
}

type Origin = Pick<NodeOrigin, 'amiFamily' | 'rootDeviceName' | 'volumes'>;

/**
 * The letter of a Xen-style device name, for matching: `/dev/sdb`,
 * `/dev/xvdb` and `/dev/xvdb1` are the same mapping to EC2.
 */
const xenLetters = (device: string): string | undefined =>
  device.match(/^\/dev\/(?:xvd|sd)([a-z]{1,2})\d*$/)?.[1];

const sameDevice = (a: string, b: string): boolean =>
  a === b || (xenLetters(a) !== undefined && xenLetters(a) === xenLetters(b));

/** What the instance says of the volume at `deviceName`. */
const onDevice = (
  origin: Origin,
  deviceName: string,
  rule: ContainerdVolumeRule,
  templateSizeGiB?: number
): ContainerdVolume => {
  const sizeGiB =
    templateSizeGiB ??
    origin.volumes.find((v) => sameDevice(v.deviceName, deviceName))?.sizeGiB;
  return { deviceName, ...(sizeGiB !== undefined ? { sizeGiB } : {}), rule };
};

/** The instance's volume the prune report names, by id or Xen device. */
const reportedVolume = (
  origin: Origin,
  volume: PruneReport['volume']
): NodeOrigin['volumes'][number] | undefined => {
  if (volume === undefined) return undefined;
  const byId =
    volume.id === null
      ? undefined
      : origin.volumes.find((v) => v.volumeId === volume.id);
  if (byId !== undefined || volume.device === null) return byId;
  // No id (Xen, or the link was missing): a Xen device name is the
  // mapping's; an NVMe name (/dev/nvme1n1) says nothing of the mapping.
  const device = volume.device;
  return xenLetters(device) === undefined
    ? undefined
    : origin.volumes.find((v) => sameDevice(v.deviceName, device));
};

/**
 * Decides which volume holds containerd on a node, and says which rule
 * decided: a decision taken before (the roll request's); the volume the
 * prune measured (its EBS id, or its Xen device, mapped through the
 * instance's volumes); else Bottlerocket's data volume; else the nodeadm
 * layout's data volume, `/dev/xvdb`, when the launch template maps it as
 * EBS and its user data mounts it at /var/lib/containerd (or, without the
 * template at hand, when the instance has it attached: the weaker guess,
 * named as such); else the root volume. The prune, the group-minimum check and the roll
 * all ask here, so they grow the volume the prune saw fill up.
 *
 * @example
 * ```ts
 * containerdVolumeOf(origin, { report });
 * // { deviceName: '/dev/xvdb', sizeGiB: 20, rule: 'prune-report' }
 * containerdVolumeOf({ amiFamily: 'al2023', rootDeviceName: '/dev/xvda',
 *   volumes: [{ deviceName: '/dev/xvda', sizeGiB: 20 }] });
 * // { deviceName: '/dev/xvda', sizeGiB: 20, rule: 'root-volume' }
 * ```
 */
export function containerdVolumeOf(
  origin: Origin,
  from: {
    /**
     * A decision taken before (a roll request carries prune-result's): it
     * stands, so the roll grows the device the prune saw.
     */
    decided?: { deviceName?: string; volumeRule?: ContainerdVolumeRule };
    report?: Pick<PruneReport, 'volume'>;
    launchTemplate?: LaunchTemplateData;
  } = {}
): ContainerdVolume {
  const { deviceName, volumeRule } = from.decided ?? {};
  if (deviceName !== undefined && volumeRule !== undefined) {
    return onDevice(
      origin,
      deviceName,
      volumeRule,
      templateSizeOf(from.launchTemplate, deviceName)
    );
  }
  const measured = reportedVolume(origin, from.report?.volume);
  if (measured !== undefined) {
    return onDevice(origin, measured.deviceName, 'prune-report');
  }
  if (origin.amiFamily === 'bottlerocket') {
    return onDevice(
      origin,
      BOTTLEROCKET_DATA_DEVICE,
      'bottlerocket-data-volume',
      templateSizeOf(from.launchTemplate, BOTTLEROCKET_DATA_DEVICE)
    );
  }
  const mapped = userDataMountsContainerd(from.launchTemplate?.UserData)
    ? from.launchTemplate?.BlockDeviceMappings?.find(
        (m) => m.Ebs !== undefined && m.DeviceName === NODEADM_DATA_DEVICE
      )
    : undefined;
  if (mapped !== undefined) {
    return onDevice(
      origin,
      NODEADM_DATA_DEVICE,
      'launch-template-data-volume',
      mapped.Ebs?.VolumeSize
    );
  }
  // Without the template (prune-result, remediate), the instance: its
  // volumes are what its template version mapped at launch.
  if (
    from.launchTemplate === undefined &&
    origin.volumes.some((v) => v.deviceName === NODEADM_DATA_DEVICE)
  ) {
    return onDevice(origin, NODEADM_DATA_DEVICE, 'instance-data-volume');
  }
  return onDevice(origin, origin.rootDeviceName, 'root-volume');
}

const templateSizeOf = (
  data: LaunchTemplateData | undefined,
  device: string
): number | undefined =>
  data?.BlockDeviceMappings?.find((m) => m.DeviceName === device)?.Ebs
    ?.VolumeSize;

/**
 * The device that holds containerd on this node, by the same rules as
 * {@link containerdVolumeOf}.
 *
 * @example
 * ```ts
 * containerdDeviceOf(aBottlerocketOrigin()); // '/dev/xvdb'
 * ```
 */
export const containerdDeviceOf = (
  origin: Origin,
  from: Parameters<typeof containerdVolumeOf>[1] = {}
): string => containerdVolumeOf(origin, from).deviceName;
