import { describe, expect, it } from 'vitest';
import { FleetFile } from '../../../cli/local/fleet.ts';
import { SimulatedNode } from '../../../cli/local/simulated-node.ts';
import { parsePruneReport } from '../../../core/prune-report.ts';

/** One node as a fleet file in the README's format gives it. */
const nodeOf = (node: object) =>
  FleetFile.parse({ cluster: 'c', nodes: [node] })
    .nodes[0] as FleetFile['nodes'][number];

const NODE = {
  name: 'ip-10-0-7-7.ec2.internal',
  nodegroup: { kind: 'managed', name: 'gpu' },
};

describe('Class: SimulatedNode (the local runtime when the lab is not used)', () => {
  it('has its sandbox image when the fleet file lists no images, so the prune reports it intact', async () => {
    // Prepare
    const node = new SimulatedNode(nodeOf(NODE));

    // Act
    const report = parsePruneReport((await node.prune(false)).stdout);

    // Assess
    expect(report).toMatchObject({
      pauseImage: expect.stringMatching(/\/eks\/pause:/),
      pauseImageIntact: true,
      imagesRemoved: 0,
    });
  });

  it('never prunes the sandbox image, even one the fleet file marks unused', async () => {
    // Prepare
    const node = new SimulatedNode(
      nodeOf({
        ...NODE,
        simulation: {
          images: [
            { ref: 'registry.k8s.io/pause:3.9', sizeGiB: 0.001, inUse: false },
            { ref: 'docker.io/library/nginx:1.25', sizeGiB: 0.2, inUse: false },
          ],
        },
      })
    );

    // Act
    const report = parsePruneReport((await node.prune(false)).stdout);

    // Assess
    expect(report).toMatchObject({
      pauseImage: 'registry.k8s.io/pause:3.9',
      pauseImageIntact: true,
      imagesRemovedRefs: ['docker.io/library/nginx:1.25'],
    });
  });

  it.each([
    [
      'AL2023 with a data volume (the nodeadm layout)',
      'al2023',
      100,
      30,
      30,
      '/dev/xvdb',
      '/dev/nvme1n1',
    ],
    ['AL2 with a data volume', 'al2', 100, 30, 30, '/dev/xvdb', '/dev/nvme1n1'],
    ['AL2023 without one', 'al2023', 20, null, 20, '/dev/xvda', '/dev/nvme0n1'],
    ['Bottlerocket', 'bottlerocket', 4, 25, 25, '/dev/xvdb', '/dev/nvme1n1'],
  ] as const)(
    'measures the volume that holds containerd, and names it, on %s',
    async (_, amiFamily, rootVolumeGiB, dataVolumeGiB, sizeGiB, device, disk) => {
      // Prepare
      const volumeIds = {
        '/dev/xvda': 'vol-0aaaaaaaaaaaaaaa1',
        '/dev/xvdb': 'vol-0bbbbbbbbbbbbbbb2',
      };
      const node = new SimulatedNode(
        nodeOf({ ...NODE, amiFamily, rootVolumeGiB, dataVolumeGiB }),
        volumeIds
      );

      // Act
      const report = parsePruneReport((await node.prune(false)).stdout);

      // Assess
      expect(report?.fsBytesTotal).toBe(sizeGiB * 1024 ** 3);
      expect(report?.volume).toEqual({ id: volumeIds[device], device: disk });
    }
  );

  it('reports a null volume id when EC2 gave it none', async () => {
    // Act
    const report = parsePruneReport(
      (await new SimulatedNode(nodeOf(NODE)).prune(false)).stdout
    );

    // Assess
    expect(report?.volume).toEqual({ id: null, device: '/dev/nvme0n1' });
  });
});
