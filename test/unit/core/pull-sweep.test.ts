import { beforeEach, describe, expect, it } from 'vitest';
import { classifyKubernetesEvent } from '#core/classify-event.ts';
import type { LivePod } from '#core/ports.ts';
import {
  pullErrorOf,
  SweepMemory,
  stuckPulls,
  sweep,
  sweepEntry,
  withDefaultTag,
} from '#core/pull-sweep.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import { KubernetesEventDetail } from '#events/schemas.ts';
import { FakeClusterPods } from '#test/fakes/fake-cluster-pods.ts';
import { FakeNodeDirectory } from '#test/fakes/fake-node-directory.ts';
import { FixedClock } from '#test/fakes/fixed-clock.ts';
import {
  CLUSTER,
  LIVE,
  NODE_NAME,
  SEED_IMAGE,
} from '#test/helpers/fixtures.ts';

const NOW = '2026-11-20T10:00:00.000Z';
const ENOSPC = `failed to pull and unpack image "${SEED_IMAGE}": failed to extract layer (application/vnd.oci.image.layer.v1.tar+gzip sha256:573e602e6564cb45ecb9743e909c510eec7a78e6db1a3a1a7c343c091705bce1) to overlayfs as "extract-871885561-oknc sha256:85b8e878ad28f1bea36973f8a98ff4df41b8cf62db7583f9edce5fca0b9e582f": write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/360/fs/opt/nvidia/x.pdf: no space left on device`;
const BACK_OFF = `Back-off pulling image "${SEED_IMAGE}": ErrImagePull: ${ENOSPC}`;

const aPod = (over: Partial<LivePod> = {}): LivePod => ({
  namespace: 'inference',
  name: 'triton-79569cfbbc-m2wcc',
  uid: '5f1c2a9e-8d4b-4e0f-9a63-2b7c1d0e4f18',
  nodeName: NODE_NAME,
  owners: [],
  containers: [
    {
      name: 'triton',
      init: false,
      image: SEED_IMAGE,
      waiting: { reason: 'ImagePullBackOff', message: BACK_OFF },
    },
  ],
  ...over,
});

describe('Function: pullErrorOf', () => {
  it.each([
    ['ImagePullBackOff', BACK_OFF, ENOSPC],
    ['ErrImagePull', ENOSPC, ENOSPC],
    [
      'ImagePullBackOff',
      'Back-off pulling image "a:1": RegistryUnavailable: image pull failed for a:1 because the registry is unavailable',
      'image pull failed for a:1 because the registry is unavailable',
    ],
    [
      'ImagePullBackOff',
      'Back-off pulling image "a:1"',
      'Back-off pulling image "a:1"',
    ],
    ['ErrImagePull', undefined, 'ErrImagePull'],
    ['ErrImagePull', '  ', 'ErrImagePull'],
  ])('reads the pull error of %s out of %j', (reason, message, error) => {
    // Act & Assess
    expect(pullErrorOf(reason, message)).toBe(error);
  });

  it('cuts a pull error longer than 16 KiB', () => {
    // Act & Assess
    expect(pullErrorOf('ErrImagePull', 'x'.repeat(20_000))).toHaveLength(
      16 * 1024
    );
  });
});

describe('Function: stuckPulls', () => {
  it('finds the containers and init containers waiting on a pull, and nothing else', () => {
    // Prepare
    const pods = [
      aPod(),
      aPod({
        name: 'init',
        uid: 'u-init',
        containers: [
          {
            name: 'fetch',
            init: true,
            image: 'a:1',
            waiting: {
              reason: 'ErrImagePull',
              message: 'no space left on device',
            },
          },
          {
            name: 'main',
            init: false,
            image: 'b:1',
            waiting: { reason: 'PodInitializing' },
          },
        ],
      }),
      aPod({ name: 'unbound', uid: 'u-2', nodeName: undefined }),
      aPod({ name: 'leaving', uid: 'u-3', deletionTimestamp: NOW }),
      aPod({
        name: 'crash',
        uid: 'u-4',
        containers: [
          {
            name: 'c',
            init: false,
            image: 'a:1',
            waiting: { reason: 'CrashLoopBackOff' },
          },
          { name: 'd', init: false, image: 'a:1' },
        ],
      }),
    ];

    // Act
    const stuck = stuckPulls(pods);

    // Assess
    expect(
      stuck.map((s) => [s.pod.name, s.container.name, s.pullError])
    ).toEqual([
      ['triton-79569cfbbc-m2wcc', 'triton', ENOSPC],
      ['init', 'fetch', 'no space left on device'],
    ]);
  });

  it('keys a stuck pull by pod, container and error: the same in back-off as just after the failure', () => {
    // Prepare
    const backOff = aPod();
    const failed = aPod({
      containers: [
        {
          name: 'triton',
          init: false,
          image: SEED_IMAGE,
          waiting: { reason: 'ErrImagePull', message: ENOSPC },
        },
      ],
    });
    const otherError = aPod({
      containers: [
        {
          name: 'triton',
          init: false,
          image: SEED_IMAGE,
          waiting: { reason: 'ErrImagePull', message: 'unauthorized' },
        },
      ],
    });

    // Act
    const [a, b, c] = stuckPulls([backOff, failed, otherError]);

    // Assess
    expect(a?.key).toBe(b?.key);
    expect(c?.key).not.toBe(a?.key);
  });
});

describe('Function: sweepEntry', () => {
  it('writes the Event the kubelet would have, marked as found by the sweep, and classify takes it as disk_full', async () => {
    // Prepare
    const [stuck] = stuckPulls([aPod()]);
    const nodes = new FakeNodeDirectory();

    // Act
    const detail = sweepEntry(CLUSTER, stuck as never, new Date(NOW));
    const parsed = KubernetesEventDetail.parse(detail);
    const classified = await classifyKubernetesEvent(parsed, NOW, LIVE, {
      nodes,
    });

    // Assess
    expect(parsed).toMatchObject({
      cluster: CLUSTER,
      foundBy: 'sweep',
      node: { name: NODE_NAME },
      event: {
        kind: 'Event',
        metadata: { namespace: 'inference', creationTimestamp: NOW },
        involvedObject: {
          kind: 'Pod',
          namespace: 'inference',
          name: 'triton-79569cfbbc-m2wcc',
          uid: '5f1c2a9e-8d4b-4e0f-9a63-2b7c1d0e4f18',
          fieldPath: 'spec.containers{triton}',
        },
        reason: 'Failed',
        type: 'Warning',
        message: `Failed to pull image "${SEED_IMAGE}": ${ENOSPC}`,
        count: 1,
        firstTimestamp: NOW,
        lastTimestamp: NOW,
        source: { component: 'pullmedic-agent', host: NODE_NAME },
      },
    });
    expect(parsed.event.metadata.name).toMatch(
      /^triton-79569cfbbc-m2wcc\.[0-9a-f]+$/
    );
    expect(classified[0]?.detail).toMatchObject({
      class: 'disk_full',
      pod: { namespace: 'inference', name: 'triton-79569cfbbc-m2wcc' },
      image: SEED_IMAGE,
    });
  });

  it('names an init container by its field path, and keeps the Event name a DNS subdomain', () => {
    // Prepare: a pod name whose cut would end on a dash.
    const long = `${'a'.repeat(240)}-${'b'.repeat(12)}`;
    const [stuck] = stuckPulls([
      aPod({
        name: long,
        containers: [
          {
            name: 'fetch',
            init: true,
            image: 'busybox',
            waiting: { reason: 'ErrImagePull', message: 'x' },
          },
        ],
      }),
    ]);

    // Act
    const detail = KubernetesEventDetail.parse(
      sweepEntry(CLUSTER, stuck as never, new Date(NOW))
    );

    // Assess
    expect(detail.event.involvedObject.fieldPath).toBe(
      'spec.initContainers{fetch}'
    );
    expect(detail.event.message).toBe(
      'Failed to pull image "busybox:latest": x'
    );
    expect(detail.event.metadata.name).toMatch(/^pod\.[0-9a-f]+$/);
    expect(detail.event.metadata.uid?.length).toBeLessThanOrEqual(64);
  });
});

describe('Function: withDefaultTag', () => {
  it.each([
    ['nginx', 'nginx:latest'],
    ['nginx:1', 'nginx:1'],
    ['registry:5000/app', 'registry:5000/app:latest'],
    ['app@sha256:abc', 'app@sha256:abc'],
  ])('names %s as %s', (image, named) => {
    // Act & Assess
    expect(withDefaultTag(image)).toBe(named);
  });
});

describe('Class: SweepMemory', () => {
  it('reports again only after the quiet period, and forgets what is past it', () => {
    // Prepare
    const memory = new SweepMemory(15 * 60_000);
    const t0 = new Date(NOW);
    const later = (min: number) => new Date(t0.getTime() + min * 60_000);

    // Act
    const first = memory.due('k', t0);
    memory.remember('k', t0);
    const soon = memory.due('k', later(14));
    const quiet = memory.due('k', later(15));
    memory.remember('other', later(10));
    memory.prune(later(16));

    // Assess
    expect([first, soon, quiet]).toEqual([true, false, true]);
    expect(memory.size).toBe(1);
  });

  it('drops the oldest entries beyond its bound', () => {
    // Prepare
    const memory = new SweepMemory(60_000, 2);
    const t = new Date(NOW);

    // Act
    memory.remember('a', t);
    memory.remember('b', t);
    memory.remember('a', t); // a is now the newest
    memory.remember('c', t);

    // Assess
    expect(memory.size).toBe(2);
    expect(memory.due('b', t)).toBe(true);
    expect(memory.due('a', t)).toBe(false);
    expect(memory.due('c', t)).toBe(false);
  });
});

describe('Function: sweep', () => {
  const pods = new FakeClusterPods();
  const clock = new FixedClock(NOW);
  let memory: SweepMemory;

  beforeEach(() => {
    pods.reset();
    clock.reset();
    memory = new SweepMemory(15 * 60_000);
  });

  it('returns an entry for each stuck pull not reported within the quiet period', async () => {
    // Prepare
    pods.addPod(aPod());
    pods.addPod(
      aPod({
        name: 'healthy',
        uid: 'u-h',
        containers: [{ name: 't', init: false, image: 'a:1' }],
      })
    );
    const deps = { cluster: CLUSTER, pods, clock, memory };

    // Act
    const first = await sweep(deps);
    for (const d of first.due) memory.remember(d.key, clock.now());
    clock.advance(120);
    const second = await sweep(deps);
    clock.advance(15 * 60);
    const third = await sweep(deps);

    // Assess
    expect(first.stuck).toBe(1);
    expect(first.due.map((d) => d.emitted.detailType)).toEqual([
      DETAIL_TYPES.kubernetesEvent,
    ]);
    expect(second).toEqual({ stuck: 1, due: [] });
    expect(third.due).toHaveLength(1);
  });

  it('reports again at the next sweep what did not get on the bus', async () => {
    // Prepare
    pods.addPod(aPod());
    const deps = { cluster: CLUSTER, pods, clock, memory };

    // Act: the first sweep's entry is not remembered (its put failed).
    await sweep(deps);
    clock.advance(120);
    const again = await sweep(deps);

    // Assess
    expect(again.due).toHaveLength(1);
  });
});
