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
});
