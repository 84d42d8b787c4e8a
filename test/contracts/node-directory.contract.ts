import { beforeAll, describe, expect, it } from 'vitest';
import { AwsCallError } from '#core/errors.ts';
import type { NodeDirectory, NodeOrigin } from '#core/ports.ts';
import { containerdVolumeOf } from '#core/volumes.ts';
import {
  blockDevicesOf,
  containerdDiskOf,
  FleetFile,
  type ProvisionedNode,
} from '../../cli/local/fleet.ts';

/**
 * The contract of the node directory: the same cases run against the
 * in-memory fake (test/unit/contracts) and the EC2 directory on moto
 * (test/integration/adapters), so the fake the core's unit tests trust
 * answers as EC2 and EKS do through the adapter.
 */

/**
 * The fleet each side builds: one node of each kind the directory tells
 * apart. ip-10-0-6-11 is the one the terminate case ends; no other case
 * reads it, so the cases hold in any order.
 */
export const CONTRACT_FLEET: FleetFile = FleetFile.parse({
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
      nodegroup: {
        kind: 'self-managed',
        name: 'cpu-asg',
        managedBy: 'terraform',
        allowRoll: false,
      },
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
    {
      name: 'ip-10-0-6-11.ec2.internal',
      amiFamily: 'al2',
      rootVolumeGiB: 40,
      nodegroup: { kind: 'self-managed', name: 'batch' },
    },
  ],
});

const TERMINATED = 'ip-10-0-6-11.ec2.internal';
const LIVE_NODES = CONTRACT_FLEET.nodes.filter((n) => n.name !== TERMINATED);

/** What one side of the contract holds once it built the fleet. */
export interface NodeDirectoryWorld {
  directory: NodeDirectory;
  /** The fleet's nodes, with the ids this side gave them. */
  nodes: ProvisionedNode[];
  /** An instance of an image whose name is no EKS family's (an Ubuntu AMI). */
  foreignInstanceId: string;
  /** Terminates an instance, as EC2 does: it stays described for a while. */
  terminate(instanceId: string): Promise<void>;
}

export function describeNodeDirectoryContract(
  name: string,
  make: (fleet: FleetFile) => Promise<NodeDirectoryWorld>
) {
  describe(`Contract: NodeDirectory (${name})`, () => {
    let world: NodeDirectoryWorld;
    beforeAll(async () => {
      world = await make(CONTRACT_FLEET);
    });

    const node = (nodeName: string): ProvisionedNode => {
      const found = world.nodes.find((n) => n.spec.name === nodeName);
      if (!found) throw new Error(`${nodeName} was not provisioned`);
      return found;
    };
    const originOf = (nodeName: string): Promise<NodeOrigin> =>
      world.directory.origin(node(nodeName).instanceId);

    describe('Method: instanceIdOf', () => {
      it("finds each node's instance by its private DNS name", async () => {
        // Act
        const ids = await Promise.all(
          LIVE_NODES.map((n) => world.directory.instanceIdOf(n.name))
        );

        // Assess
        expect(ids).toEqual(LIVE_NODES.map((n) => node(n.name).instanceId));
        expect(new Set(ids).size).toBe(LIVE_NODES.length);
      });

      it('answers undefined for a name no instance has', async () => {
        // Act
        const id = await world.directory.instanceIdOf(
          'ip-10-9-9-9.ec2.internal'
        );

        // Assess
        expect(id).toBeUndefined();
      });

      it('reads the instance id of a resource-name node name as it is', async () => {
        // Act
        const id = await world.directory.instanceIdOf(
          'i-0123456789abcdef0.us-east-1.compute.internal'
        );

        // Assess
        expect(id).toBe('i-0123456789abcdef0');
      });
    });

    describe('Method: amiFamilyOf', () => {
      it("tells each node's family from its image", async () => {
        // Act
        const families = await Promise.all(
          LIVE_NODES.map((n) =>
            world.directory.amiFamilyOf(node(n.name).instanceId)
          )
        );

        // Assess
        expect(families).toEqual([
          'al2023',
          'bottlerocket',
          'al2',
          'al2023',
          'al2023',
        ]);
      });

      it('answers unknown for an image of no EKS family, and for an instance EC2 does not know', async () => {
        // Act
        const foreign = await world.directory.amiFamilyOf(
          world.foreignInstanceId
        );
        const missing = await world.directory.amiFamilyOf(
          'i-0ffffffffffffffff'
        );

        // Assess
        expect(foreign).toBe('unknown');
        expect(missing).toBe('unknown');
      });
    });

    describe('Method: origin', () => {
      it('lists the volumes the instance launched with: device name, size and volume id', async () => {
        for (const spec of LIVE_NODES) {
          // Act
          const origin = await originOf(spec.name);

          // Assess
          const launched = blockDevicesOf(spec).map((d) => ({
            deviceName: d.DeviceName,
            sizeGiB: d.Ebs.VolumeSize,
            volumeId: node(spec.name).volumeIds[d.DeviceName],
          }));
          expect(origin.instanceId).toBe(node(spec.name).instanceId);
          expect(origin.rootDeviceName).toBe('/dev/xvda');
          expect(origin.amiFamily).toBe(spec.amiFamily);
          expect(byDevice(origin.volumes)).toEqual(launched);
          for (const v of origin.volumes) {
            expect(v.volumeId).toMatch(/^vol-[0-9a-f]{8,17}$/);
          }
        }
      });

      it('tells the volume that holds containerd: the data volume where the node maps one, else the root', async () => {
        // Act
        const volumes = await Promise.all(
          LIVE_NODES.map(async (n) =>
            containerdVolumeOf(await originOf(n.name))
          )
        );

        // Assess
        expect(volumes).toEqual(
          LIVE_NODES.map((n) => ({
            ...containerdDiskOf(n),
            rule:
              n.amiFamily === 'bottlerocket'
                ? 'bottlerocket-data-volume'
                : n.dataVolumeGiB === null
                  ? 'root-volume'
                  : 'instance-data-volume',
          }))
        );
        expect(volumes.map((v) => v.deviceName)).toEqual([
          '/dev/xvda',
          '/dev/xvdb',
          '/dev/xvda',
          '/dev/xvda',
          '/dev/xvdb',
        ]);
      });

      it('tells the launch template and version each instance came from', async () => {
        for (const spec of LIVE_NODES) {
          // Act
          const origin = await originOf(spec.name);

          // Assess
          expect(origin.launchTemplate).toEqual({
            id: node(spec.name).launchTemplateId,
            version: 1,
          });
        }
      });

      it('tells a managed node group: its cluster, name and template, and its Auto Scaling group', async () => {
        // Act
        const origin = await originOf('ip-10-0-1-149.ec2.internal');

        // Assess
        const provisioned = node('ip-10-0-1-149.ec2.internal');
        expect(origin.eksNodegroup).toMatchObject({
          cluster: 'gpu-inference',
          name: 'gpu',
          launchTemplate: {
            id: provisioned.launchTemplateId,
            name: 'gpu-inference-gpu',
            version: 1,
          },
        });
        expect(origin.autoScalingGroup).toBe(provisioned.autoScalingGroup);
        expect(origin.autoScalingGroup).toMatch(/^eks-gpu-/);
        expect(origin.karpenterNodePool).toBeUndefined();
      });

      it('tells a self-managed Auto Scaling group and a Karpenter node pool, neither a managed node group', async () => {
        // Act
        const asg = await originOf('ip-10-0-3-8.ec2.internal');
        const karpenter = await originOf('ip-10-0-4-9.ec2.internal');

        // Assess
        expect(asg.autoScalingGroup).toBe('cpu-asg');
        expect(asg.eksNodegroup).toBeUndefined();
        expect(asg.karpenterNodePool).toBeUndefined();
        expect(karpenter.karpenterNodePool).toBe('default');
        expect(karpenter.autoScalingGroup).toBeUndefined();
        expect(karpenter.eksNodegroup).toBeUndefined();
      });

      it("tells the template's owner and whether it opted in to rolls", async () => {
        // Act
        const terraform = await originOf('ip-10-0-3-8.ec2.internal');
        const optedIn = await originOf('ip-10-0-1-149.ec2.internal');

        // Assess
        expect(terraform.managedBy).toBe('terraform');
        expect(terraform.rollOptIn).toBe(false);
        expect(optedIn.managedBy).toBeUndefined();
        expect(optedIn.rollOptIn).toBe(true);
      });

      it('answers a copy: changing one answer changes no later one', async () => {
        // Prepare
        const first = await originOf('ip-10-0-2-17.ec2.internal');
        const before = structuredClone(first);

        // Act
        first.volumes.splice(0);
        first.amiFamily = 'unknown';

        // Assess
        expect(await originOf('ip-10-0-2-17.ec2.internal')).toEqual(before);
      });

      it('fails with a permanent InvalidInstanceID.NotFound for an instance EC2 does not know', async () => {
        // Act
        const answer = world.directory.origin('i-0ffffffffffffffff');

        // Assess
        await expect(answer).rejects.toBeInstanceOf(AwsCallError);
        // The escalation a person reads quotes EC2's own answer.
        await expect(answer).rejects.toThrow(
          "InvalidInstanceID.NotFound: The instance ID 'i-0ffffffffffffffff' does not exist"
        );
        await expect(answer).rejects.toMatchObject({
          action: 'describing i-0ffffffffffffffff',
          code: 'InvalidInstanceID.NotFound',
          permanent: true,
        });
      });
    });

    describe('A terminated instance', () => {
      it('no longer answers to its name, and is still described, without volumes', async () => {
        // Prepare
        const ended = node(TERMINATED);
        await world.terminate(ended.instanceId);

        // Act
        const id = await world.directory.instanceIdOf(TERMINATED);
        const family = await world.directory.amiFamilyOf(ended.instanceId);
        const origin = await world.directory.origin(ended.instanceId);

        // Assess
        expect(id).toBeUndefined();
        expect(family).toBe('al2');
        expect(origin.volumes).toEqual([]);
        expect(origin.autoScalingGroup).toBe('batch');
        expect(origin.launchTemplate?.id).toBe(ended.launchTemplateId);
      });
    });
  });
}

const byDevice = (volumes: NodeOrigin['volumes']) =>
  [...volumes].sort((a, b) => a.deviceName.localeCompare(b.deviceName));
