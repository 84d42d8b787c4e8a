import { describe, expect, it } from 'vitest';
import { LocalClusterPods } from '../../../cli/local/cluster-agent.ts';
import { FleetFile } from '../../../cli/local/fleet.ts';
import type { Note } from '../../../cli/local/gaps.ts';
import { KubeletStandIn } from '../../../cli/local/kubelet.ts';
import { SimulatedNode } from '../../../cli/local/simulated-node.ts';
import { ClusterCallError } from '../../../core/errors.ts';

const NODE = 'ip-10-0-7-7.ec2.internal';
const IMAGE = '478253497479.dkr.ecr.us-east-1.amazonaws.com/triton:resnet50';

/** The kubelet's Failed event of a pod's pull, as the forwarder sees it. */
const failed = (pod: string, uid: string) => ({
  involvedObject: {
    kind: 'Pod',
    namespace: 'inference',
    name: pod,
    uid,
    fieldPath: 'spec.containers{triton}',
  },
  reason: 'Failed',
  type: 'Warning',
  message: `Failed to pull image "${IMAGE}": no space left on device`,
  count: 1,
  lastTimestamp: '2026-11-20T09:40:59Z',
  source: { component: 'kubelet', host: NODE },
});

function cluster() {
  const node = new SimulatedNode(
    FleetFile.parse({
      cluster: 'c',
      nodes: [{ name: NODE, nodegroup: { kind: 'managed', name: 'gpu' } }],
    }).nodes[0] as FleetFile['nodes'][number]
  );
  const notes: Note[] = [];
  const kubelet = new KubeletStandIn(new Map([[NODE, node]]), notes);
  return { kubelet, pods: new LocalClusterPods(kubelet, notes) };
}

describe('Class: LocalClusterPods (the simulated pods the local cluster agent reads)', () => {
  it('shows a pod whose pull fails as waiting in ImagePullBackOff, owned by the controller its name says', async () => {
    // Prepare
    const { kubelet, pods } = cluster();
    kubelet.observe(failed('triton-79569cfbbc-m2wcc', 'uid-1'));
    kubelet.observe(failed('web-0', 'uid-2'));
    kubelet.observe(failed('convert', 'uid-3'));

    // Act
    const [replicaSetPod, statefulSetPod, barePod] = await Promise.all(
      ['triton-79569cfbbc-m2wcc', 'web-0', 'convert'].map((n) =>
        pods.getPod('inference', n)
      )
    );

    // Assess
    expect(replicaSetPod).toMatchObject({
      uid: 'uid-1',
      nodeName: NODE,
      owners: [{ kind: 'ReplicaSet', name: 'triton-79569cfbbc' }],
      containers: [
        {
          name: 'triton',
          image: IMAGE,
          waiting: { reason: 'ImagePullBackOff' },
        },
      ],
    });
    expect(statefulSetPod?.owners).toMatchObject([
      { kind: 'StatefulSet', name: 'web' },
    ]);
    expect(barePod?.owners).toEqual([]);
  });

  it('refuses a delete whose uid no longer holds (409), and an unknown pod (404)', async () => {
    // Prepare
    const { kubelet, pods } = cluster();
    kubelet.observe(failed('triton-79569cfbbc-m2wcc', 'uid-1'));

    // Act
    const wrongUid = pods
      .deletePod('inference', 'triton-79569cfbbc-m2wcc', 'uid-other')
      .catch((err: unknown) => err);
    const unknown = pods
      .deletePod('inference', 'nowhere-0', 'uid-1')
      .catch((err: unknown) => err);

    // Assess
    expect(await wrongUid).toBeInstanceOf(ClusterCallError);
    expect(((await wrongUid) as ClusterCallError).status).toBe(409);
    expect(((await unknown) as ClusterCallError).status).toBe(404);
  });

  it('lets the ReplicaSet make a new pod on the node, which the kubelet stand-in pulls at once', async () => {
    // Prepare
    const { kubelet, pods } = cluster();
    kubelet.observe(failed('triton-79569cfbbc-m2wcc', 'uid-1'));

    // Act
    await pods.deletePod('inference', 'triton-79569cfbbc-m2wcc', 'uid-1');
    const events = await kubelet.retryAfterPrune([]);

    // Assess: no prune yet on the node, and still the new pod pulled.
    await expect(
      pods.getPod('inference', 'triton-79569cfbbc-m2wcc')
    ).rejects.toMatchObject({ status: 404 });
    const started = events.find((e) => e.reason === 'Started');
    expect(
      (started?.involvedObject as { name: string } | undefined)?.name
    ).toMatch(/^triton-79569cfbbc-[a-z0-9]{5}$/);
  });
});
