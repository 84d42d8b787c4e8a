import type { NodeOrigin } from '#core/ports.ts';
import {
  blockDevicesOf,
  type FleetFile,
  type ProvisionedNode,
} from '../../../cli/local/fleet.ts';
import { describeNodeDirectoryContract } from '../../contracts/node-directory.contract.ts';
import { FakeNodeDirectory } from '../../fakes/fake-node-directory.ts';

// The fake the core's unit tests trust, held to the same contract as the
// EC2 directory (test/integration/adapters/ec2-node-directory-contract.test.ts).
// It is given, node by node, what EC2, Auto Scaling and EKS would describe
// for the fleet: one launch template per node group, tags as they set them.

/** An id of EC2's shape: the prefix and 17 hex digits. */
const idOf = (prefix: string, n: number): string =>
  `${prefix}-${n.toString(16).padStart(17, '0')}`;

describeNodeDirectoryContract('in memory', async (fleet: FleetFile) => {
  const directory = new FakeNodeDirectory();
  const templates = new Map<string, string>();
  let volumes = 0;
  const nodes: ProvisionedNode[] = fleet.nodes.map((spec, i) => {
    const ng = spec.nodegroup;
    const launchTemplateId =
      templates.get(ng.name) ?? idOf('lt', templates.size + 1);
    templates.set(ng.name, launchTemplateId);
    const instanceId = idOf('i', i + 1);
    const volumeIds = Object.fromEntries(
      blockDevicesOf(spec).map((d) => [d.DeviceName, idOf('vol', ++volumes)])
    );
    const autoScalingGroup =
      ng.kind === 'managed'
        ? `eks-${ng.name}-${launchTemplateId.slice(3, 11)}`
        : ng.kind === 'self-managed'
          ? ng.name
          : undefined;
    const launchTemplate = { id: launchTemplateId, version: 1 };
    const origin: NodeOrigin = {
      instanceId,
      amiFamily: spec.amiFamily,
      rootDeviceName: '/dev/xvda',
      volumes: blockDevicesOf(spec).map((d) => ({
        deviceName: d.DeviceName,
        sizeGiB: d.Ebs.VolumeSize,
        volumeId: volumeIds[d.DeviceName] as string,
      })),
      launchTemplate,
      ...(autoScalingGroup ? { autoScalingGroup } : {}),
      ...(ng.kind === 'managed'
        ? {
            eksNodegroup: {
              cluster: fleet.cluster,
              name: ng.name,
              launchTemplate: {
                ...launchTemplate,
                name: `${fleet.cluster}-${ng.name}`,
              },
            },
          }
        : {}),
      ...(ng.kind === 'karpenter' ? { karpenterNodePool: ng.name } : {}),
      ...(ng.managedBy ? { managedBy: ng.managedBy } : {}),
      rollOptIn: ng.allowRoll,
    };
    directory.addNode(spec.name, origin);
    return {
      spec,
      instanceId,
      providerID: `aws:///${fleet.region}a/${instanceId}`,
      launchTemplateId,
      ...(autoScalingGroup ? { autoScalingGroup } : {}),
      volumeIds,
    };
  });
  const foreignInstanceId = idOf('i', fleet.nodes.length + 1);
  directory.addOrigin({
    instanceId: foreignInstanceId,
    amiFamily: 'unknown',
    rootDeviceName: '/dev/sda1',
    volumes: [
      {
        deviceName: '/dev/sda1',
        sizeGiB: 30,
        volumeId: idOf('vol', ++volumes),
      },
    ],
    rollOptIn: false,
  });
  return {
    directory,
    nodes,
    foreignInstanceId,
    terminate: async (instanceId) => directory.terminate(instanceId),
  };
});
