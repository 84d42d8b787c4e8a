import { readFileSync } from 'node:fs';
import {
  type AutoScalingClient,
  CreateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  type _InstanceType,
  CreateLaunchTemplateCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  type EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  CreateNodegroupCommand,
  type EKSClient,
} from '@aws-sdk/client-eks';
import { z } from 'zod';
import { clusterName, nodeName } from '../../events/names.ts';
import amis from './amis.json' with { type: 'json' };

const GiB = 1024 ** 3;

/** One image in a simulated node's cache. */
const CachedImage = z.object({
  ref: z.string(),
  sizeGiB: z.number().nonnegative(),
  /** A container (running or exited) uses it: a prune keeps it. */
  inUse: z.boolean().default(false),
});

/**
 * The fleet file: the cluster, and the nodes to create in the local AWS.
 * `simulation` describes the disk of a node the local runtime simulates
 * (when the containerd lab is not used).
 */
export const FleetFile = z.object({
  cluster: clusterName,
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/)
    .default('us-east-1'),
  nodes: z
    .array(
      z.object({
        name: nodeName.check(
          z.regex(
            /^ip-\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}\./,
            'node names here are EC2 private DNS names (ip-a-b-c-d.…)'
          )
        ),
        amiFamily: z.enum(['al2023', 'al2', 'bottlerocket']).default('al2023'),
        instanceType: z.string().default('g5.xlarge'),
        rootVolumeGiB: z.number().int().positive().default(20),
        /**
         * The containerd volume, /dev/xvdb: Bottlerocket's data volume
         * (20 GiB when null), or on AL2/AL2023 the volume the project's
         * nodeadm layout mounts at /var/lib/containerd (none when null).
         */
        dataVolumeGiB: z.number().int().positive().nullable().default(null),
        nodegroup: z.object({
          kind: z.enum(['managed', 'self-managed', 'karpenter']),
          name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9\-_]{0,62}$/),
          /** Managed node groups without a launch template use diskSize. */
          diskSize: z.number().int().positive().optional(),
          /** Tag the template as owned by infrastructure code (terraform…). */
          managedBy: z.string().optional(),
          /** Self-managed: a mixed-instances group over these instance types. */
          mixedInstanceTypes: z.array(z.string()).min(1).optional(),
          /** Tag the template and group pullmedic.io/allow-roll=true (IAM opt-in). */
          allowRoll: z.boolean().default(true),
        }),
        simulation: z
          .object({
            /** OS, kubelet, logs: what no prune frees. */
            systemGiB: z.number().nonnegative().default(4),
            images: z.array(CachedImage).default([]),
            /** Left in the content store by the failed unpack. */
            failedPullLeftoverGiB: z.number().nonnegative().default(2.5),
            /** The size the image that failed to pull needs unpacked. */
            pullingImageGiB: z.number().positive().default(11),
          })
          .default({
            systemGiB: 4,
            images: [],
            failedPullLeftoverGiB: 2.5,
            pullingImageGiB: 11,
          }),
      })
    )
    .min(1),
});
export type FleetFile = z.infer<typeof FleetFile>;
export type FleetNode = FleetFile['nodes'][number];

/** The sandbox image EKS nodes run (us-east-1's ECR; the region changes only the host). */
export const EKS_PAUSE_IMAGE =
  '602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/pause:3.10';

/** The seed's GPU node: 20 GiB root volume, managed node group "gpu". */
export const DEFAULT_FLEET: FleetFile = FleetFile.parse({
  cluster: 'gpu-inference',
  region: 'us-east-1',
  nodes: [
    {
      name: 'ip-10-0-1-149.ec2.internal',
      amiFamily: 'al2023',
      instanceType: 'g5.xlarge',
      rootVolumeGiB: 20,
      dataVolumeGiB: null,
      nodegroup: { kind: 'managed', name: 'gpu' },
      simulation: {
        systemGiB: 4,
        images: [
          {
            ref: EKS_PAUSE_IMAGE,
            sizeGiB: 0.001,
            inUse: true,
          },
          {
            ref: 'docker.io/amazon/aws-cli:latest',
            sizeGiB: 0.13,
            inUse: true,
          },
          {
            ref: '478253497479.dkr.ecr.us-east-1.amazonaws.com/triton:densenet',
            sizeGiB: 6.2,
            inUse: false,
          },
          {
            ref: '478253497479.dkr.ecr.us-east-1.amazonaws.com/triton-client:24.01',
            sizeGiB: 1.4,
            inUse: false,
          },
          { ref: 'docker.io/library/python:3.11', sizeGiB: 0.4, inUse: false },
        ],
        failedPullLeftoverGiB: 2.5,
        pullingImageGiB: 11,
      },
    },
  ],
});

/** What the local AWS holds for one node once the fleet is created. */
export interface ProvisionedNode {
  spec: FleetNode;
  instanceId: string;
  providerID: string;
  launchTemplateId: string;
  autoScalingGroup?: string;
  /** The EBS volume id behind each device EC2 attached. */
  volumeIds: Record<string, string>;
}

/** The device that holds containerd on a fleet node, and its size. */
export function containerdDiskOf(node: FleetNode): {
  deviceName: '/dev/xvda' | '/dev/xvdb';
  sizeGiB: number;
} {
  if (node.amiFamily === 'bottlerocket')
    return { deviceName: '/dev/xvdb', sizeGiB: node.dataVolumeGiB ?? 20 };
  return node.dataVolumeGiB === null
    ? { deviceName: '/dev/xvda', sizeGiB: node.rootVolumeGiB }
    : { deviceName: '/dev/xvdb', sizeGiB: node.dataVolumeGiB };
}

/**
 * The project's nodeadm user data (infra/nodeadm/user-data.mime), base64:
 * the launch template of an AL2/AL2023 group with a data volume carries it,
 * as the recommended layout does, and it mounts /dev/xvdb for containerd.
 */
const NODEADM_USER_DATA = readFileSync(
  new URL('../../infra/nodeadm/user-data.mime', import.meta.url)
).toString('base64');

const AMI_BY_FAMILY: Record<FleetNode['amiFamily'], string> = {
  al2023: amis[0]?.ami_id as string,
  al2: amis[1]?.ami_id as string,
  bottlerocket: amis[2]?.ami_id as string,
};

/**
 * The block devices an EKS node of this family launches with: the root,
 * and /dev/xvdb for Bottlerocket's data volume or, on AL2/AL2023 with
 * `dataVolumeGiB`, for the nodeadm layout's containerd volume.
 *
 * @example
 * ```ts
 * blockDevicesOf(DEFAULT_FLEET.nodes[0]); // [{ DeviceName: '/dev/xvda', Ebs: {…} }]
 * ```
 */
export function blockDevicesOf(node: FleetNode) {
  const ebs = (size: number) => ({
    VolumeSize: size,
    VolumeType: 'gp3' as const,
    Iops: 3000,
    Throughput: 125,
    Encrypted: true,
    DeleteOnTermination: true,
  });
  return node.amiFamily === 'bottlerocket' || node.dataVolumeGiB !== null
    ? [
        { DeviceName: '/dev/xvda', Ebs: ebs(node.rootVolumeGiB) },
        { DeviceName: '/dev/xvdb', Ebs: ebs(node.dataVolumeGiB ?? 20) },
      ]
    : [{ DeviceName: '/dev/xvda', Ebs: ebs(node.rootVolumeGiB) }];
}

const ipOf = (name: string): string =>
  (name.match(/^ip-(\d+)-(\d+)-(\d+)-(\d+)\./) as RegExpMatchArray)
    .slice(1, 5)
    .join('.');

/**
 * Creates the fleet in the local AWS the way EKS would have: a VPC, the
 * cluster, one launch template per node group, managed node groups and
 * Auto Scaling groups, and the instances with the tags EC2, Auto Scaling,
 * EKS and Karpenter put on them.
 *
 * @example
 * ```ts
 * const nodes = await provisionFleet(DEFAULT_FLEET, clients);
 * ```
 */
export async function provisionFleet(
  fleet: FleetFile,
  clients: { ec2: EC2Client; eks: EKSClient; autoscaling: AutoScalingClient }
): Promise<ProvisionedNode[]> {
  const { ec2, eks } = clients;
  const az = `${fleet.region}a`;
  const vpcs = new Map<string, string>();
  const subnets = new Map<string, string>();
  for (const node of fleet.nodes) {
    const octets = ipOf(node.name).split('.');
    const cidr = `${octets.slice(0, 3).join('.')}.0/24`;
    if (subnets.has(cidr)) continue;
    const vpcCidr = `${octets.slice(0, 2).join('.')}.0.0/16`;
    let vpcId = vpcs.get(vpcCidr);
    if (!vpcId) {
      const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: vpcCidr }));
      vpcId = vpc.Vpc?.VpcId as string;
      vpcs.set(vpcCidr, vpcId);
    }
    const subnet = await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: cidr,
        AvailabilityZone: az,
      })
    );
    subnets.set(cidr, subnet.Subnet?.SubnetId as string);
  }
  const firstSubnet = [...subnets.values()][0] as string;
  await eks.send(
    new CreateClusterCommand({
      name: fleet.cluster,
      version: '1.31',
      roleArn: 'arn:aws:iam::123456789012:role/eks-cluster',
      resourcesVpcConfig: { subnetIds: [...subnets.values()] },
    })
  );

  const groups = new Map<string, { launchTemplateId: string; asg?: string }>();
  const provisioned: ProvisionedNode[] = [];
  for (const node of fleet.nodes) {
    const ng = node.nodegroup;
    const subnetId = subnets.get(
      `${ipOf(node.name).split('.').slice(0, 3).join('.')}.0/24`
    ) as string;
    let group = groups.get(ng.name);
    if (!group) {
      group = await createGroup(fleet, node, firstSubnet, clients);
      groups.set(ng.name, group);
    }
    const tags = [
      { Key: 'Name', Value: `${fleet.cluster}-${ng.name}` },
      { Key: `kubernetes.io/cluster/${fleet.cluster}`, Value: 'owned' },
      ...(ng.kind === 'managed'
        ? [
            { Key: 'eks:cluster-name', Value: fleet.cluster },
            { Key: 'eks:nodegroup-name', Value: ng.name },
          ]
        : []),
      ...(ng.kind === 'karpenter'
        ? [
            { Key: 'karpenter.sh/nodepool', Value: ng.name },
            { Key: 'karpenter.k8s.aws/ec2nodeclass', Value: 'default' },
          ]
        : []),
    ];
    const run = await ec2.send(
      new RunInstancesCommand({
        MinCount: 1,
        MaxCount: 1,
        LaunchTemplate: {
          LaunchTemplateId: group.launchTemplateId,
          Version: '1',
        },
        SubnetId: subnetId,
        PrivateIpAddress: ipOf(node.name),
        // Given explicitly: moto adds an 8 GiB /dev/sda1 otherwise.
        BlockDeviceMappings: blockDevicesOf(node),
        TagSpecifications: [{ ResourceType: 'instance', Tags: tags }],
        Placement: { AvailabilityZone: az },
      })
    );
    const instanceId = run.Instances?.[0]?.InstanceId as string;
    const volumeIds = Object.fromEntries(
      (run.Instances?.[0]?.BlockDeviceMappings ?? []).flatMap((m) =>
        m.DeviceName && m.Ebs?.VolumeId ? [[m.DeviceName, m.Ebs.VolumeId]] : []
      )
    );
    if (group.asg) {
      // The tag Auto Scaling puts on its instances (moto only sets it on
      // the instances it launches itself).
      await ec2.send(
        new CreateTagsCommand({
          Resources: [instanceId],
          Tags: [{ Key: 'aws:autoscaling:groupName', Value: group.asg }],
        })
      );
    }
    provisioned.push({
      spec: node,
      instanceId,
      providerID: `aws:///${az}/${instanceId}`,
      launchTemplateId: group.launchTemplateId,
      ...(group.asg ? { autoScalingGroup: group.asg } : {}),
      volumeIds,
    });
  }
  return provisioned;
}

async function createGroup(
  fleet: FleetFile,
  node: FleetNode,
  subnetId: string,
  clients: { ec2: EC2Client; eks: EKSClient; autoscaling: AutoScalingClient }
): Promise<{ launchTemplateId: string; asg?: string }> {
  const ng = node.nodegroup;
  const lt = await clients.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: `${fleet.cluster}-${ng.name}`,
      LaunchTemplateData: {
        ImageId: AMI_BY_FAMILY[node.amiFamily],
        InstanceType: node.instanceType as _InstanceType,
        BlockDeviceMappings: blockDevicesOf(node),
        // The nodeadm layout: its user data mounts /dev/xvdb for containerd.
        ...(node.amiFamily !== 'bottlerocket' && node.dataVolumeGiB !== null
          ? { UserData: NODEADM_USER_DATA }
          : {}),
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
        TagSpecifications: [
          {
            ResourceType: 'instance',
            Tags: [{ Key: 'Name', Value: `${fleet.cluster}-${ng.name}` }],
          },
        ],
      },
      TagSpecifications: [
        {
          ResourceType: 'launch-template',
          Tags: [
            { Key: 'pullmedic.io/cluster', Value: fleet.cluster },
            ...(ng.managedBy
              ? [{ Key: 'pullmedic.io/managed-by', Value: ng.managedBy }]
              : []),
            ...(ng.allowRoll
              ? [{ Key: 'pullmedic.io/allow-roll', Value: 'true' }]
              : []),
          ],
        },
      ],
    })
  );
  const launchTemplateId = lt.LaunchTemplate?.LaunchTemplateId as string;
  if (ng.kind === 'karpenter') return { launchTemplateId };
  const asg =
    ng.kind === 'managed'
      ? `eks-${ng.name}-${launchTemplateId.slice(3, 11)}`
      : ng.name;
  if (ng.kind === 'managed') {
    await clients.eks.send(
      new CreateNodegroupCommand({
        clusterName: fleet.cluster,
        nodegroupName: ng.name,
        nodeRole: 'arn:aws:iam::123456789012:role/eks-node',
        subnets: [subnetId],
        scalingConfig: { minSize: 0, maxSize: 10, desiredSize: 1 },
        // A custom AMI in the template makes the node group's amiType CUSTOM.
        amiType: 'CUSTOM',
        ...(ng.diskSize
          ? { diskSize: ng.diskSize }
          : { launchTemplate: { id: launchTemplateId, version: '1' } }),
      })
    );
  }
  const spec = { LaunchTemplateId: launchTemplateId, Version: '1' };
  await clients.autoscaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: asg,
      ...(ng.mixedInstanceTypes
        ? {
            MixedInstancesPolicy: {
              LaunchTemplate: {
                LaunchTemplateSpecification: spec,
                Overrides: ng.mixedInstanceTypes.map((t) => ({
                  InstanceType: t,
                })),
              },
              InstancesDistribution: {
                OnDemandBaseCapacity: 1,
                OnDemandPercentageAboveBaseCapacity: 0,
                SpotAllocationStrategy: 'price-capacity-optimized',
              },
            },
          }
        : { LaunchTemplate: spec }),
      MinSize: 0,
      MaxSize: 10,
      DesiredCapacity: 0,
      VPCZoneIdentifier: subnetId,
      Tags: [
        ...(ng.allowRoll
          ? [
              {
                Key: 'pullmedic.io/allow-roll',
                Value: 'true',
                PropagateAtLaunch: false,
              },
            ]
          : []),
        {
          Key: `kubernetes.io/cluster/${fleet.cluster}`,
          Value: 'owned',
          PropagateAtLaunch: true,
        },
        ...(ng.kind === 'managed'
          ? [
              {
                Key: 'eks:cluster-name',
                Value: fleet.cluster,
                PropagateAtLaunch: true,
              },
              {
                Key: 'eks:nodegroup-name',
                Value: ng.name,
                PropagateAtLaunch: true,
              },
            ]
          : []),
      ],
    })
  );
  return { launchTemplateId, asg };
}

export { GiB };
