import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeVolumesCommand,
  type EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { DescribeNodegroupCommand, type EKSClient } from '@aws-sdk/client-eks';
import { NodeNotFoundError } from '../../core/errors.ts';
import type {
  AmiFamily,
  LaunchTemplateRef,
  NodeDirectory,
  NodeOrigin,
} from '../../core/ports.ts';
import { isNotFound, wrapAwsError } from './errors.ts';

/** Tags that tell where an instance came from. */
export const ORIGIN_TAGS = {
  launchTemplateId: 'aws:ec2launchtemplate:id',
  launchTemplateVersion: 'aws:ec2launchtemplate:version',
  autoScalingGroup: 'aws:autoscaling:groupName',
  eksNodegroup: 'eks:nodegroup-name',
  eksCluster: 'eks:cluster-name',
  karpenterNodePool: 'karpenter.sh/nodepool',
  managedBy: 'pullmedic.io/managed-by',
  allowRoll: 'pullmedic.io/allow-roll',
} as const;

/** Node names of the resource-name kind: `i-0abc….ec2.internal`. */
const RESOURCE_NAME = /^(i-[0-9a-f]{8,17})\./;

/**
 * The instance id a node name of the resource-name kind carries (EC2's
 * resource-based hostnames), without asking EC2; undefined for an IP name.
 *
 * @example
 * ```ts
 * instanceIdInNodeName('i-0123456789abcdef0.us-east-1.compute.internal');
 * // 'i-0123456789abcdef0'
 * ```
 */
export const instanceIdInNodeName = (nodeName: string): string | undefined =>
  nodeName.match(RESOURCE_NAME)?.[1];

/**
 * Finds a node's instance and its origin (launch template, Auto Scaling
 * group, EKS managed node group, Karpenter) from EC2 and EKS. Read only.
 *
 * @example
 * ```ts
 * const nodes = new Ec2NodeDirectory(ec2, eks);
 * const id = await nodes.instanceIdOf('ip-10-0-1-149.ec2.internal');
 * ```
 */
export class Ec2NodeDirectory implements NodeDirectory {
  readonly #ec2: EC2Client;
  readonly #eks: EKSClient;

  constructor(ec2: EC2Client, eks: EKSClient) {
    this.#ec2 = ec2;
    this.#eks = eks;
  }

  async instanceIdOf(nodeName: string): Promise<string | undefined> {
    const resource = instanceIdInNodeName(nodeName);
    if (resource) return resource;
    const out = await this.#call(`finding node ${nodeName}`, () =>
      this.#ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: 'private-dns-name', Values: [nodeName] },
            { Name: 'instance-state-name', Values: ['pending', 'running'] },
          ],
        })
      )
    );
    return out.Reservations?.flatMap((r) => r.Instances ?? [])[0]?.InstanceId;
  }

  async amiFamilyOf(instanceId: string): Promise<AmiFamily> {
    let imageId: string | undefined;
    try {
      const out = await this.#ec2.send(
        new DescribeInstancesCommand({ InstanceIds: [instanceId] })
      );
      imageId = out.Reservations?.flatMap((r) => r.Instances ?? [])[0]?.ImageId;
    } catch (err) {
      // Not an instance EC2 knows: the prune's own SendCommand says so, in
      // the escalation a person reads.
      if (isNotFound(err)) return 'unknown';
      throw wrapAwsError(`describing ${instanceId}`, err);
    }
    return familyOfImage(await this.#imageName(imageId));
  }

  async origin(instanceId: string): Promise<NodeOrigin> {
    const out = await this.#call(`describing ${instanceId}`, () =>
      this.#ec2.send(
        new DescribeInstancesCommand({ InstanceIds: [instanceId] })
      )
    );
    const instance = out.Reservations?.flatMap((r) => r.Instances ?? [])[0];
    if (!instance) throw new NodeNotFoundError(instanceId);
    const tags = Object.fromEntries(
      (instance.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])
    );
    const [volumes, imageName] = await Promise.all([
      this.#volumes(instance),
      this.#imageName(instance.ImageId),
    ]);
    const launchTemplate = templateRef(
      tags[ORIGIN_TAGS.launchTemplateId],
      tags[ORIGIN_TAGS.launchTemplateVersion]
    );
    const ngName = tags[ORIGIN_TAGS.eksNodegroup];
    const cluster = tags[ORIGIN_TAGS.eksCluster];
    const nodegroup =
      ngName && cluster ? await this.#nodegroup(cluster, ngName) : undefined;
    // The template's own tags say who owns it and whether pullmedic may
    // roll it; the node group's template wins over the instance's tag.
    const templateId =
      nodegroup?.origin.launchTemplate?.id ?? launchTemplate?.id;
    const templateTags = templateId ? await this.#templateTags(templateId) : {};
    const managedBy =
      templateTags[ORIGIN_TAGS.managedBy] ?? tags[ORIGIN_TAGS.managedBy];
    return {
      instanceId,
      amiFamily: nodegroup?.amiFamily ?? familyOfImage(imageName),
      rootDeviceName: instance.RootDeviceName ?? '/dev/xvda',
      volumes,
      ...(launchTemplate ? { launchTemplate } : {}),
      ...(tags[ORIGIN_TAGS.autoScalingGroup]
        ? { autoScalingGroup: tags[ORIGIN_TAGS.autoScalingGroup] }
        : {}),
      ...(nodegroup ? { eksNodegroup: nodegroup.origin } : {}),
      ...(tags[ORIGIN_TAGS.karpenterNodePool]
        ? { karpenterNodePool: tags[ORIGIN_TAGS.karpenterNodePool] }
        : {}),
      ...(managedBy ? { managedBy } : {}),
      rollOptIn: templateTags[ORIGIN_TAGS.allowRoll] === 'true',
    };
  }

  async #templateTags(id: string): Promise<Record<string, string>> {
    const out = await this.#call(`describing launch template ${id}`, () =>
      this.#ec2.send(
        new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] })
      )
    );
    return Object.fromEntries(
      (out.LaunchTemplates?.[0]?.Tags ?? []).map((t) => [
        t.Key ?? '',
        t.Value ?? '',
      ])
    );
  }

  async #volumes(instance: Instance): Promise<NodeOrigin['volumes']> {
    const byVolume = new Map(
      (instance.BlockDeviceMappings ?? [])
        .filter((m) => m.Ebs?.VolumeId)
        .map((m) => [m.Ebs?.VolumeId as string, m.DeviceName ?? ''])
    );
    if (byVolume.size === 0) return [];
    const out = await this.#call('describing volumes', () =>
      this.#ec2.send(
        new DescribeVolumesCommand({ VolumeIds: [...byVolume.keys()] })
      )
    );
    return (out.Volumes ?? []).map((v) => ({
      deviceName: byVolume.get(v.VolumeId ?? '') ?? '',
      sizeGiB: v.Size ?? 0,
      ...(v.VolumeId ? { volumeId: v.VolumeId } : {}),
    }));
  }

  async #imageName(imageId: string | undefined): Promise<string> {
    if (!imageId) return '';
    const out = await this.#call(`describing image ${imageId}`, () =>
      this.#ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))
    );
    return out.Images?.[0]?.Name ?? '';
  }

  async #nodegroup(
    cluster: string,
    name: string
  ): Promise<{
    origin: NonNullable<NodeOrigin['eksNodegroup']>;
    amiFamily?: AmiFamily;
  }> {
    const out = await this.#call(`describing node group ${name}`, () =>
      this.#eks.send(
        new DescribeNodegroupCommand({
          clusterName: cluster,
          nodegroupName: name,
        })
      )
    );
    const ng = out.nodegroup;
    const lt = ng?.launchTemplate
      ? templateRef(
          ng.launchTemplate.id,
          ng.launchTemplate.version,
          ng.launchTemplate.name
        )
      : undefined;
    const amiFamily = familyOfAmiType(ng?.amiType);
    return {
      origin: {
        cluster,
        name,
        ...(lt ? { launchTemplate: lt } : {}),
        ...(ng?.diskSize ? { diskSizeGiB: ng.diskSize } : {}),
      },
      ...(amiFamily ? { amiFamily } : {}),
    };
  }

  async #call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw wrapAwsError(action, err);
    }
  }
}

const templateRef = (
  id: string | undefined,
  version: string | undefined,
  name?: string
): LaunchTemplateRef | undefined => {
  const v = Number(version);
  return id && Number.isInteger(v) && v > 0
    ? { id, version: v, ...(name ? { name } : {}) }
    : undefined;
};

/**
 * The AMI family from the EKS node group's amiType, when it has one.
 *
 * @example
 * ```ts
 * familyOfAmiType('BOTTLEROCKET_x86_64_NVIDIA'); // 'bottlerocket'
 * ```
 */
export const familyOfAmiType = (
  amiType: string | undefined
): AmiFamily | undefined => {
  if (!amiType || amiType === 'CUSTOM') return undefined;
  if (amiType.startsWith('BOTTLEROCKET')) return 'bottlerocket';
  if (amiType.startsWith('AL2023')) return 'al2023';
  if (amiType.startsWith('AL2_')) return 'al2';
  return undefined;
};

/** The AMI family from the image name (EKS-optimized naming). */
export const familyOfImage = (name: string): AmiFamily => {
  const n = name.toLowerCase();
  if (n.includes('bottlerocket')) return 'bottlerocket';
  if (n.includes('al2023')) return 'al2023';
  if (n.includes('amazon-eks') || n.includes('amzn2')) return 'al2';
  return 'unknown';
};
