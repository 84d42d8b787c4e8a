import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import {
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ec2LaunchTemplates } from '../../../adapters/aws/ec2-launch-templates.ts';
import { Ec2NodeDirectory } from '../../../adapters/aws/ec2-node-directory.ts';
import {
  blockDevicesOf,
  FleetFile,
  type ProvisionedNode,
  provisionFleet,
} from '../../../cli/local/fleet.ts';
import { planVolumeGrowth } from '../../../core/launch-template.ts';
import { DEFAULT_POLICY } from '../../../core/policy.ts';
import {
  containerdDeviceOf,
  containerdVolumeOf,
} from '../../../core/volumes.ts';
import { startTestAws } from '../../helpers/moto.ts';

const AMIS = new URL('../../../cli/local/amis.json', import.meta.url).pathname;

const fleet = FleetFile.parse({
  cluster: 'gpu-inference',
  nodes: [
    {
      name: 'ip-10-0-1-149.ec2.internal',
      amiFamily: 'al2023',
      rootVolumeGiB: 20,
      nodegroup: { kind: 'managed', name: 'gpu' },
    },
    {
      name: 'ip-10-0-2-17.ec2.internal',
      amiFamily: 'bottlerocket',
      rootVolumeGiB: 4,
      dataVolumeGiB: 20,
      nodegroup: { kind: 'managed', name: 'gpu-br' },
    },
    {
      name: 'ip-10-0-3-8.ec2.internal',
      amiFamily: 'al2',
      rootVolumeGiB: 50,
      nodegroup: { kind: 'self-managed', name: 'cpu-asg' },
    },
    {
      name: 'ip-10-0-4-9.ec2.internal',
      amiFamily: 'al2023',
      rootVolumeGiB: 20,
      nodegroup: { kind: 'karpenter', name: 'default' },
    },
    {
      // The nodeadm layout: containerd on its own 30 GiB /dev/xvdb.
      name: 'ip-10-0-5-10.ec2.internal',
      amiFamily: 'al2023',
      rootVolumeGiB: 100,
      dataVolumeGiB: 30,
      nodegroup: { kind: 'managed', name: 'gpu-data' },
    },
  ],
});

describe('Class: Ec2NodeDirectory and Ec2LaunchTemplates (against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let ec2: EC2Client;
  let directory: Ec2NodeDirectory;
  let nodes: ProvisionedNode[];

  beforeAll(async () => {
    aws = await startTestAws({ amisPath: AMIS });
    ec2 = new EC2Client(aws.clientConfig);
    const eks = new EKSClient(aws.clientConfig);
    nodes = await provisionFleet(fleet, {
      ec2,
      eks,
      autoscaling: new AutoScalingClient(aws.clientConfig),
    });
    directory = new Ec2NodeDirectory(ec2, eks);
  });
  afterAll(async () => {
    await aws.stop();
  });

  const node = (name: string) =>
    nodes.find((n) => n.spec.name === name) as ProvisionedNode;

  describe('Method: amiFamilyOf', () => {
    it("tells each node's family from its AMI, and unknown for an instance EC2 does not know", async () => {
      // Act
      const families = await Promise.all(
        fleet.nodes.map((n) => directory.amiFamilyOf(node(n.name).instanceId))
      );
      const missing = await directory.amiFamilyOf('i-0ffffffffffffffff');

      // Assess
      expect(families).toEqual([
        'al2023',
        'bottlerocket',
        'al2',
        'al2023',
        'al2023',
      ]);
      expect(missing).toBe('unknown');
    });
  });

  describe('Method: instanceIdOf', () => {
    it('finds an instance by its private DNS name, and reads resource names directly', async () => {
      // Act
      const byDns = await directory.instanceIdOf('ip-10-0-1-149.ec2.internal');
      const byResourceName = await directory.instanceIdOf(
        'i-0123456789abcdef0.us-east-1.compute.internal'
      );
      const unknown = await directory.instanceIdOf('ip-10-9-9-9.ec2.internal');

      // Assess
      expect(byDns).toBe(node('ip-10-0-1-149.ec2.internal').instanceId);
      expect(byResourceName).toBe('i-0123456789abcdef0');
      expect(unknown).toBeUndefined();
    });
  });

  describe('Method: origin', () => {
    it('tells a managed AL2023 node: template, group, node group, root volume', async () => {
      // Act
      const origin = await directory.origin(
        node('ip-10-0-1-149.ec2.internal').instanceId
      );

      // Assess
      expect(origin.amiFamily).toBe('al2023');
      expect(origin.rootDeviceName).toBe('/dev/xvda');
      expect(origin.volumes).toEqual([
        {
          deviceName: '/dev/xvda',
          sizeGiB: 20,
          volumeId: node('ip-10-0-1-149.ec2.internal').volumeIds['/dev/xvda'],
        },
      ]);
      expect(origin.volumes[0]?.volumeId).toMatch(/^vol-[0-9a-f]{8,17}$/);
      expect(origin.eksNodegroup).toMatchObject({
        cluster: 'gpu-inference',
        name: 'gpu',
        launchTemplate: {
          id: node('ip-10-0-1-149.ec2.internal').launchTemplateId,
          version: 1,
        },
      });
      expect(origin.autoScalingGroup).toBe(
        node('ip-10-0-1-149.ec2.internal').autoScalingGroup
      );
      expect(origin.karpenterNodePool).toBeUndefined();
    });

    it('tells a Bottlerocket node, whose containerd lives on /dev/xvdb', async () => {
      // Act
      const origin = await directory.origin(
        node('ip-10-0-2-17.ec2.internal').instanceId
      );

      // Assess
      expect(origin.amiFamily).toBe('bottlerocket');
      expect(containerdDeviceOf(origin)).toBe('/dev/xvdb');
      expect(origin.volumes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ deviceName: '/dev/xvda', sizeGiB: 4 }),
          expect.objectContaining({ deviceName: '/dev/xvdb', sizeGiB: 20 }),
        ])
      );
    });

    it('tells an AL2023 node of the nodeadm layout, and finds the volume a prune report names by its id', async () => {
      // Prepare
      const provisioned = node('ip-10-0-5-10.ec2.internal');
      const dataId = provisioned.volumeIds['/dev/xvdb'];
      const rootId = provisioned.volumeIds['/dev/xvda'];

      // Act
      const origin = await directory.origin(provisioned.instanceId);
      const template = await new Ec2LaunchTemplates(ec2).getVersion(
        provisioned.launchTemplateId,
        1
      );

      // Assess
      expect(origin.volumes).toEqual(
        expect.arrayContaining([
          { deviceName: '/dev/xvda', sizeGiB: 100, volumeId: rootId },
          { deviceName: '/dev/xvdb', sizeGiB: 30, volumeId: dataId },
        ])
      );
      expect(dataId).not.toBe(rootId);
      expect(containerdVolumeOf(origin)).toEqual({
        deviceName: '/dev/xvdb',
        sizeGiB: 30,
        rule: 'instance-data-volume',
      });
      expect(
        containerdVolumeOf(origin, { launchTemplate: template })
      ).toMatchObject({
        deviceName: '/dev/xvdb',
        rule: 'launch-template-data-volume',
      });
      expect(
        containerdVolumeOf(origin, {
          report: { volume: { id: rootId ?? null, device: '/dev/nvme0n1' } },
        })
      ).toEqual({
        deviceName: '/dev/xvda',
        sizeGiB: 100,
        rule: 'prune-report',
      });
    });

    it('tells a self-managed Auto Scaling node and a Karpenter node', async () => {
      // Act
      const asg = await directory.origin(
        node('ip-10-0-3-8.ec2.internal').instanceId
      );
      const karpenter = await directory.origin(
        node('ip-10-0-4-9.ec2.internal').instanceId
      );

      // Assess
      expect(asg.amiFamily).toBe('al2');
      expect(asg.autoScalingGroup).toBe('cpu-asg');
      expect(asg.eksNodegroup).toBeUndefined();
      expect(asg.launchTemplate?.version).toBe(1);
      expect(karpenter.karpenterNodePool).toBe('default');
      expect(karpenter.autoScalingGroup).toBeUndefined();
    });
  });

  describe('Method: createVersion', () => {
    it('writes a version whose data is the old one with only the containerd volume grown', async () => {
      // Prepare
      const templates = new Ec2LaunchTemplates(ec2);
      const br = node('ip-10-0-2-17.ec2.internal');
      const before = await templates.getVersion(br.launchTemplateId, 1);
      const plan = planVolumeGrowth(
        before,
        '/dev/xvdb',
        undefined,
        DEFAULT_POLICY
      );
      if (plan.kind !== 'grow') throw new Error('expected growth');

      // Act
      const version = await templates.createVersion(
        br.launchTemplateId,
        1,
        plan.data,
        'pullmedic-0123456789abcdef grow xvdb',
        'pullmedic-0123456789abcdef'
      );

      // Assess: read back from EC2, not from the plan.
      const out = await ec2.send(
        new DescribeLaunchTemplateVersionsCommand({
          LaunchTemplateId: br.launchTemplateId,
          Versions: [String(version)],
        })
      );
      const data = out.LaunchTemplateVersions?.[0]?.LaunchTemplateData;
      const [root, dataVolume] = blockDevicesOf(br.spec);
      expect(version).toBe(2);
      expect(data?.BlockDeviceMappings).toEqual([
        root,
        { ...dataVolume, Ebs: { ...dataVolume?.Ebs, VolumeSize: 100 } },
      ]);
      expect(data?.ImageId).toBe(before.ImageId);
      expect(data?.InstanceType).toBe(before.InstanceType);
      expect(data?.MetadataOptions).toEqual(before.MetadataOptions);
      expect(data?.TagSpecifications).toEqual(before.TagSpecifications);
    });
  });
  describe('Method: findVersion', () => {
    it('finds the version a retry made, by the mark at the head of its description, and no other', async () => {
      // Prepare: the version made in the test above carries the mark.
      const templates = new Ec2LaunchTemplates(ec2);
      const br = node('ip-10-0-2-17.ec2.internal');

      // Act
      const found = await templates.findVersion(
        br.launchTemplateId,
        1,
        'pullmedic-0123456789abcdef'
      );
      const other = await templates.findVersion(
        br.launchTemplateId,
        1,
        'pullmedic-ffffffffffffffff'
      );
      const before = await templates.findVersion(
        br.launchTemplateId,
        2,
        'pullmedic-0123456789abcdef'
      );

      // Assess
      expect(found).toBe(2);
      expect(other).toBeUndefined();
      expect(before).toBeUndefined();
    });
  });
});
