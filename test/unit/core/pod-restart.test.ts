import { beforeEach, describe, expect, it } from 'vitest';
import {
  handleRestartRequest,
  normalizeImage,
  type RestartPolicy,
  sameImage,
} from '#core/pod-restart.ts';
import type { Emitted, LivePod } from '#core/ports.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import {
  PodRestartedDetail,
  type PodRestartRequestedDetail,
  PodRestartSkippedDetail,
} from '#events/schemas.ts';
import { FakeClusterPods } from '#test/fakes/fake-cluster-pods.ts';
import { FixedClock } from '#test/fakes/fixed-clock.ts';
import { detailOf } from '#test/helpers/bus.ts';
import {
  CLUSTER,
  INSTANCE_ID,
  NODE_NAME,
  SEED_IMAGE,
} from '#test/helpers/fixtures.ts';

const NOW = '2026-11-20T09:45:00.000Z';
const INCIDENT = `${CLUSTER}/${NODE_NAME}/20261120T094059Z`;
const UID = '5f1c2a9e-8d4b-4e0f-9a63-2b7c1d0e4f18';
const ERROR = `failed to pull and unpack image "${SEED_IMAGE}": write /var/lib/containerd/x: no space left on device`;

/** A pod of a Deployment, stuck pulling the seed's image on the seed's node. */
const aStuckPod = (over: Partial<LivePod> = {}): LivePod => ({
  namespace: 'inference',
  name: 'triton-79569cfbbc-m2wcc',
  uid: UID,
  nodeName: NODE_NAME,
  owners: [
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'triton-79569cfbbc',
      controller: true,
    },
  ],
  containers: [
    {
      name: 'triton',
      init: false,
      image: SEED_IMAGE,
      waiting: {
        reason: 'ImagePullBackOff',
        message: `Back-off pulling image "${SEED_IMAGE}": ErrImagePull: ${ERROR}`,
      },
    },
  ],
  ...over,
});

const aRequest = (
  over: Partial<PodRestartRequestedDetail> = {}
): PodRestartRequestedDetail => ({
  cluster: CLUSTER,
  node: { name: NODE_NAME, instanceId: INSTANCE_ID },
  dryRun: false,
  incidentId: INCIDENT,
  image: SEED_IMAGE,
  pods: [{ namespace: 'inference', name: 'triton-79569cfbbc-m2wcc', uid: UID }],
  after: 'prune',
  maxPods: 10,
  requestedAt: NOW,
  ...over,
});

const skipped = (e: Emitted | undefined) => {
  expect(e?.detailType).toBe(DETAIL_TYPES.podRestartSkipped);
  return PodRestartSkippedDetail.parse(e?.detail);
};

describe('Function: handleRestartRequest', () => {
  const pods = new FakeClusterPods();
  const clock = new FixedClock(NOW);
  let policy: RestartPolicy;
  const deps = () => ({ pods, clock, policy });

  beforeEach(() => {
    pods.reset();
    clock.reset();
    policy = {
      optedOutNamespaces: ['kube-system'],
      maxPods: 10,
      dryRun: false,
    };
  });

  it('deletes a controller-owned pod stuck pulling the image, with a precondition on its uid', async () => {
    // Prepare
    pods.addPod(aStuckPod());

    // Act
    const emitted = await handleRestartRequest(aRequest(), deps());

    // Assess
    expect(pods.deleted).toEqual([`inference/triton-79569cfbbc-m2wcc@${UID}`]);
    expect(emitted).toHaveLength(1);
    expect(emitted[0]?.detailType).toBe(DETAIL_TYPES.podRestarted);
    expect(PodRestartedDetail.parse(emitted[0]?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME },
      incidentId: INCIDENT,
      pod: {
        namespace: 'inference',
        name: 'triton-79569cfbbc-m2wcc',
        uid: UID,
      },
      owner: { kind: 'ReplicaSet', name: 'triton-79569cfbbc' },
      image: SEED_IMAGE,
      deletedAt: NOW,
    });
  });

  it('restarts the pods of a StatefulSet, a Job and a DaemonSet, and a stuck init container', async () => {
    // Prepare
    const owned = [
      ['apps/v1', 'StatefulSet', 'db'],
      ['batch/v1', 'Job', 'load'],
      ['apps/v1', 'DaemonSet', 'agent'],
    ] as const;
    for (const [i, [apiVersion, kind, name]] of owned.entries()) {
      pods.addPod(
        aStuckPod({
          name: `${name}-0`,
          uid: `uid-${i}`,
          owners: [{ apiVersion, kind, name, controller: true }],
          containers: [
            {
              name: 'fetch',
              init: true,
              image: SEED_IMAGE,
              waiting: { reason: 'ErrImagePull', message: ERROR },
            },
            { name: 'main', init: false, image: 'busybox:1' },
          ],
        })
      );
    }

    // Act
    const emitted = await handleRestartRequest(
      aRequest({
        pods: owned.map(([, , name]) => ({
          namespace: 'inference',
          name: `${name}-0`,
        })),
      }),
      deps()
    );

    // Assess
    expect(emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.podRestarted,
      DETAIL_TYPES.podRestarted,
      DETAIL_TYPES.podRestarted,
    ]);
    expect(
      emitted.map((e) => detailOf(e, DETAIL_TYPES.podRestarted).owner.kind)
    ).toEqual(['StatefulSet', 'Job', 'DaemonSet']);
    expect(pods.deleted).toHaveLength(3);
  });

  it('leaves alone a pod that is gone, elsewhere, healthy, bare or replaced, each with its reason', async () => {
    // Prepare
    pods.addPod(
      aStuckPod({ name: 'elsewhere', nodeName: 'ip-10-0-9-9.ec2.internal' })
    );
    pods.addPod(aStuckPod({ name: 'unbound', nodeName: undefined }));
    pods.addPod(
      aStuckPod({
        name: 'healthy',
        containers: [{ name: 'triton', init: false, image: SEED_IMAGE }],
      })
    );
    pods.addPod(
      aStuckPod({
        name: 'crashing',
        containers: [
          {
            name: 'triton',
            init: false,
            image: SEED_IMAGE,
            waiting: { reason: 'CrashLoopBackOff' },
          },
        ],
      })
    );
    pods.addPod(
      aStuckPod({
        name: 'other-image',
        containers: [
          {
            name: 'app',
            init: false,
            image: 'registry.local/app:2',
            waiting: { reason: 'ErrImagePull', message: 'no space left' },
          },
        ],
      })
    );
    pods.addPod(aStuckPod({ name: 'leaving', deletionTimestamp: NOW }));
    pods.addPod(aStuckPod({ name: 'bare', owners: [] }));
    pods.addPod(
      aStuckPod({
        name: 'not-controller',
        owners: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: 'x',
            controller: false,
          },
        ],
      })
    );
    pods.addPod(
      aStuckPod({
        name: 'virt-launcher',
        owners: [
          {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachineInstance',
            name: 'vm',
            controller: true,
          },
        ],
      })
    );
    pods.addPod(
      aStuckPod({
        name: 'lookalike',
        owners: [
          {
            apiVersion: 'example.com/v1',
            kind: 'ReplicaSet',
            name: 'r',
            controller: true,
          },
        ],
      })
    );
    pods.addPod(aStuckPod({ name: 'recreated', uid: 'new-uid' }));
    const names = [
      'gone',
      'elsewhere',
      'unbound',
      'healthy',
      'crashing',
      'other-image',
      'leaving',
      'bare',
      'not-controller',
      'virt-launcher',
      'lookalike',
      'recreated',
    ];

    // Act
    const emitted = await handleRestartRequest(
      aRequest({
        maxPods: 20,
        pods: names.map((name) => ({
          namespace: 'inference',
          name,
          ...(name === 'recreated' ? { uid: 'old-uid' } : {}),
        })),
      }),
      { ...deps(), policy: { ...policy, maxPods: 20 } }
    );

    // Assess
    expect(pods.deleted).toEqual([]);
    expect(
      emitted.map((e) => [skipped(e).pod.name, skipped(e).reason])
    ).toEqual([
      ['gone', 'not-found'],
      ['elsewhere', 'other-node'],
      ['unbound', 'other-node'],
      ['healthy', 'not-stuck'],
      ['crashing', 'not-stuck'],
      ['other-image', 'not-stuck'],
      ['leaving', 'not-stuck'],
      ['bare', 'bare-pod'],
      ['not-controller', 'bare-pod'],
      ['virt-launcher', 'bare-pod'],
      ['lookalike', 'bare-pod'],
      ['recreated', 'uid-changed'],
    ]);
    const why = Object.fromEntries(
      emitted.map((e) => [skipped(e).pod.name, skipped(e).why])
    );
    expect(why.elsewhere).toBe(
      `inference/elsewhere runs on node ip-10-0-9-9.ec2.internal, not on ${NODE_NAME}`
    );
    expect(why.unbound).toMatch(/is not bound to a node yet/);
    expect(why['other-image']).toMatch(`for ${SEED_IMAGE}`);
    expect(why.leaving).toMatch(/already being deleted/);
    expect(why['virt-launcher']).toMatch(
      /controlled by VirtualMachineInstance vm \(kubevirt\.io\/v1\)/
    );
    expect(why.recreated).toMatch(/uid new-uid, the incident saw old-uid/);
    expect(skipped(emitted[11]).pod.uid).toBe('new-uid');
    expect(skipped(emitted[0]).pod.uid).toBeUndefined();
  });

  it('honours a namespace that opted out by label, by annotation or in the settings', async () => {
    // Prepare
    for (const namespace of ['labelled', 'annotated', 'kube-system', 'in']) {
      pods.addPod(aStuckPod({ namespace, name: 'p', uid: `uid-${namespace}` }));
    }
    pods.setNamespace({
      name: 'labelled',
      labels: { 'pullmedic.io/restart-pods': 'false' },
      annotations: {},
    });
    pods.setNamespace({
      name: 'annotated',
      labels: {},
      annotations: { 'pullmedic.io/restart-pods': 'false' },
    });
    pods.setNamespace({
      name: 'in',
      labels: { 'pullmedic.io/restart-pods': 'true' },
      annotations: {},
    });

    // Act
    const emitted = await handleRestartRequest(
      aRequest({
        pods: ['labelled', 'annotated', 'kube-system', 'in'].map(
          (namespace) => ({
            namespace,
            name: 'p',
          })
        ),
      }),
      deps()
    );

    // Assess
    expect(emitted.slice(0, 3).map((e) => skipped(e).reason)).toEqual([
      'opted-out',
      'opted-out',
      'opted-out',
    ]);
    expect(emitted.slice(0, 3).map((e) => skipped(e).why)).toEqual([
      'namespace labelled opted out: label pullmedic.io/restart-pods="false"',
      'namespace annotated opted out: annotation pullmedic.io/restart-pods="false"',
      "namespace kube-system is in the agent's opted-out namespaces (OPTED_OUT_NAMESPACES)",
    ]);
    expect(emitted[3]?.detailType).toBe(DETAIL_TYPES.podRestarted);
    expect(pods.deleted).toEqual(['in/p@uid-in']);
    // The settings' list is honoured without reading anything.
    expect(pods.calls.getPod).not.toContain('kube-system/p');
  });

  it('restarts the first maxPods in the given order and leaves the rest over the limit', async () => {
    // Prepare
    for (const name of ['a', 'b', 'c']) {
      pods.addPod(aStuckPod({ name, uid: `uid-${name}` }));
    }
    const request = aRequest({
      maxPods: 2,
      pods: ['a', 'b', 'c'].map((name) => ({ namespace: 'inference', name })),
    });

    // Act
    const byRequest = await handleRestartRequest(request, deps());
    pods.reset();
    for (const name of ['a', 'b', 'c']) {
      pods.addPod(aStuckPod({ name, uid: `uid-${name}` }));
    }
    const byAgent = await handleRestartRequest(
      { ...request, maxPods: 10 },
      { ...deps(), policy: { ...policy, maxPods: 1 } }
    );

    // Assess
    expect(byRequest.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.podRestarted,
      DETAIL_TYPES.podRestarted,
      DETAIL_TYPES.podRestartSkipped,
    ]);
    expect(skipped(byRequest[2]).why).toBe(
      'the request names 3 pods and at most 2 restart per incident: inference/c is number 3'
    );
    expect(byAgent.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.podRestarted,
      DETAIL_TYPES.podRestartSkipped,
      DETAIL_TYPES.podRestartSkipped,
    ]);
    expect(pods.deleted).toEqual(['inference/a@uid-a']);
    expect(pods.calls.getPod).toEqual(['inference/a']);
  });

  it('never deletes in dry-run: the request, a replay or the agent itself', async () => {
    // Prepare
    pods.addPod(aStuckPod());
    const cases = [
      [
        aRequest({ dryRun: true }),
        policy,
        /the request was decided in dry-run/,
      ],
      [
        aRequest({ dryRun: true, replayName: 'pm-2026' }),
        policy,
        /replay pm-2026 \(a replay never deletes\)/,
      ],
      [aRequest(), { ...policy, dryRun: true }, /the agent's DRY_RUN setting/],
    ] as const;

    // Act
    const results = [];
    for (const [request, p] of cases) {
      results.push(
        await handleRestartRequest(request, { ...deps(), policy: p })
      );
    }

    // Assess
    expect(pods.deleted).toEqual([]);
    expect(pods.calls.deletePod).toEqual([]);
    results.forEach((emitted, i) => {
      const detail = skipped(emitted[0]);
      expect(detail.reason).toBe('dry-run');
      expect(detail.why).toMatch(
        /^would delete inference\/triton-79569cfbbc-m2wcc \(ReplicaSet triton-79569cfbbc recreates it; container triton is in ImagePullBackOff\), but /
      );
      expect(detail.why).toMatch(cases[i]?.[2] as RegExp);
    });
    expect(skipped(results[0]?.[0])).toMatchObject({ dryRun: true });
    expect(skipped(results[1]?.[0])).toMatchObject({
      dryRun: true,
      replayName: 'pm-2026',
    });
    expect(skipped(results[2]?.[0]).dryRun).toBeUndefined();
  });

  it('says what the API server refused: reads and deletes, by status', async () => {
    // Prepare
    const run = async (
      method: 'getPod' | 'getNamespace' | 'deletePod',
      status: number | undefined
    ) => {
      pods.reset();
      pods.addPod(aStuckPod());
      pods.failNext(method, status);
      const [e] = await handleRestartRequest(aRequest(), deps());
      return skipped(e);
    };

    // Act
    const outcomes = [
      await run('getPod', 403),
      await run('getPod', 500),
      await run('getPod', undefined),
      await run('getNamespace', 403),
      await run('getNamespace', 404),
      await run('deletePod', 409),
      await run('deletePod', 404),
      await run('deletePod', 403),
      await run('deletePod', 500),
    ];

    // Assess
    expect(outcomes.map((o) => o.reason)).toEqual([
      'forbidden',
      'error',
      'error',
      'forbidden',
      'not-found',
      'uid-changed',
      'not-found',
      'forbidden',
      'error',
    ]);
    expect(outcomes[0]?.why).toMatch(
      /^the API server refused to let the agent read pod inference\/triton-79569cfbbc-m2wcc \(403\)/
    );
    expect(outcomes[3]?.why).toMatch(/read namespace inference \(403\)/);
    expect(outcomes[5]?.why).toMatch(
      /replaced between the look and the delete/
    );
    expect(outcomes[7]?.why).toMatch(/refused to let the agent delete/);
    expect(outcomes[8]?.why).toMatch(
      /^deleting inference\/triton-79569cfbbc-m2wcc failed: DELETE pod/
    );
  });

  it('reads each namespace once per request', async () => {
    // Prepare
    for (const name of ['a', 'b']) pods.addPod(aStuckPod({ name, uid: name }));

    // Act
    await handleRestartRequest(
      aRequest({
        pods: [
          { namespace: 'inference', name: 'a' },
          { namespace: 'inference', name: 'b' },
        ],
      }),
      deps()
    );

    // Assess
    expect(pods.calls.getNamespace).toEqual(['inference']);
    expect(pods.deleted).toHaveLength(2);
  });

  it('takes any stuck container when the request names no image, and records its image', async () => {
    // Prepare
    pods.addPod(aStuckPod());

    // Act
    const [e] = await handleRestartRequest(
      aRequest({ image: undefined }),
      deps()
    );

    // Assess
    expect(PodRestartedDetail.parse(e?.detail).image).toBe(SEED_IMAGE);
  });

  it('leaves the image off when the container spells it with characters no image has', async () => {
    // Prepare
    pods.addPod(
      aStuckPod({
        containers: [
          {
            name: 'x',
            init: false,
            image: 'bad image',
            waiting: { reason: 'ErrImagePull' },
          },
        ],
      })
    );

    // Act
    const [e] = await handleRestartRequest(
      aRequest({ image: undefined }),
      deps()
    );

    // Assess
    expect(e?.detailType).toBe(DETAIL_TYPES.podRestarted);
    expect(PodRestartedDetail.parse(e?.detail).image).toBeUndefined();
  });
});

describe('Function: handleRestartRequest, when the port throws something else', () => {
  it('reports what was thrown as an error, and deletes nothing', async () => {
    // Prepare: an adapter that lets a plain error through, and one that
    // throws a string, as a broken dependency might.
    const pods = new FakeClusterPods();
    pods.addPod(aStuckPod());
    const throwing = {
      getPod: async () => {
        throw new TypeError('socket hang up');
      },
      getNamespace: pods.getNamespace.bind(pods),
      deletePod: pods.deletePod.bind(pods),
      listPods: pods.listPods.bind(pods),
    };
    const rejecting = {
      ...throwing,
      getPod: pods.getPod.bind(pods),
      deletePod: () => Promise.reject('connection reset'),
    };
    const deps = {
      clock: new FixedClock(NOW),
      policy: { optedOutNamespaces: [], maxPods: 10, dryRun: false },
    };

    // Act
    const [read] = await handleRestartRequest(aRequest(), {
      ...deps,
      pods: throwing,
    });
    const [del] = await handleRestartRequest(aRequest(), {
      ...deps,
      pods: rejecting,
    });
    const [str] = await handleRestartRequest(aRequest(), {
      ...deps,
      pods: { ...throwing, getPod: () => Promise.reject('timed out') },
    });

    // Assess
    expect(skipped(read)).toMatchObject({
      reason: 'error',
      why: 'reading pod inference/triton-79569cfbbc-m2wcc failed: socket hang up',
    });
    expect(skipped(del)).toMatchObject({
      reason: 'error',
      why: 'deleting inference/triton-79569cfbbc-m2wcc failed: connection reset',
    });
    expect(skipped(str).why).toBe(
      'reading pod inference/triton-79569cfbbc-m2wcc failed: timed out'
    );
    expect(pods.deleted).toEqual([]);
  });

  it('says "not stuck" without an image when the request names none', async () => {
    // Prepare
    const pods = new FakeClusterPods();
    pods.addPod(
      aStuckPod({ containers: [{ name: 't', init: false, image: 'a:1' }] })
    );

    // Act
    const [e] = await handleRestartRequest(aRequest({ image: undefined }), {
      pods,
      clock: new FixedClock(NOW),
      policy: { optedOutNamespaces: [], maxPods: 10, dryRun: false },
    });

    // Assess
    expect(skipped(e)).toMatchObject({
      reason: 'not-stuck',
      why: 'no container of inference/triton-79569cfbbc-m2wcc is waiting in ImagePullBackOff or ErrImagePull: it pulled, or waits for something else',
    });
    expect(skipped(e).image).toBeUndefined();
  });
});

describe('Function: sameImage', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest', true],
    ['nginx:1.27', 'docker.io/library/nginx:1.27', true],
    ['user/app', 'docker.io/user/app:latest', true],
    ['localhost/app', 'localhost/app:latest', true],
    ['registry:5000/app', 'registry:5000/app:latest', true],
    [`${SEED_IMAGE}`, `${SEED_IMAGE}`, true],
    ['app@sha256:abc', 'docker.io/library/app:1@sha256:abc', true],
    ['nginx:1.27', 'nginx:1.28', false],
    ['app@sha256:abc', 'app@sha256:def', false],
    ['nginx', 'quay.io/nginx', false],
  ])('%s and %s are the same image: %s', (a, b, same) => {
    // Act & Assess
    expect(sameImage(a, b)).toBe(same);
  });

  it('spells out the registry, library/ and :latest', () => {
    // Act & Assess
    expect(normalizeImage('nginx')).toBe('docker.io/library/nginx:latest');
    expect(normalizeImage('ghcr.io/a/b@sha256:1')).toBe('ghcr.io/a/b@sha256:1');
  });
});
