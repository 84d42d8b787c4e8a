import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, motoPython } from '../../cli/local/moto.ts';
import { startForwarder } from '../../forwarder/app.ts';
import { loadConfig } from '../../forwarder/config.ts';
import { KubeCallError } from '../../forwarder/errors.ts';
import { listPage } from '../../forwarder/kube.ts';
import { silentLog } from '../../forwarder/log.ts';
import { startTestAws } from '../helpers/moto.ts';
import {
  createTestBus,
  type Delivered,
  startFaultProxy,
} from './helpers/bus.ts';
import {
  createKubeletEvent,
  repeatKubeletEvent,
  startTestKube,
  type TestKube,
} from './helpers/kube.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const NODE = 'ip-10-0-1-149.ec2.internal';
const INSTANCE = 'i-0abc12345678def90';
const MARKER = '…[truncated by pullmedic]';

/** The objects of a manifest file, parsed by the PyYAML that moto brings. */
async function manifests(path: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await promisify(execFile)(await motoPython(), [
    '-c',
    'import sys, json, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))',
    resolve(repoRoot, path),
  ]);
  return JSON.parse(stdout) as Record<string, unknown>[];
}

const PATHS: Record<string, string> = {
  ServiceAccount: '/api/v1/namespaces/pullmedic/serviceaccounts',
  ClusterRole: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
  ClusterRoleBinding: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
  Role: '/apis/rbac.authorization.k8s.io/v1/namespaces/pullmedic/roles',
  RoleBinding:
    '/apis/rbac.authorization.k8s.io/v1/namespaces/pullmedic/rolebindings',
  Deployment: '/apis/apps/v1/namespaces/pullmedic/deployments',
  PodDisruptionBudget:
    '/apis/policy/v1/namespaces/pullmedic/poddisruptionbudgets',
};

const uidOf = (ev: Record<string, unknown>) =>
  (ev.metadata as { uid: string }).uid;
const countsOf = (all: Delivered[], uid: string) =>
  all.filter((d) => d.uid === uid).map((d) => d.count);

describe('Forwarder (against a real kube-apiserver and moto)', () => {
  let kube: TestKube;
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let bus: Awaited<ReturnType<typeof createTestBus>>;
  let proxy: Awaited<ReturnType<typeof startFaultProxy>>;
  let pod = 0;

  // The events watch cache is off so that compacting etcd makes an old
  // resourceVersion answer 410 Gone, as it does in a cluster once the
  // watch cache has moved past it.
  beforeAll(async () => {
    [kube, aws] = await Promise.all([
      startTestKube({
        extraArgs: '--watch-cache-sizes=events#0,events.events.k8s.io#0',
      }),
      startTestAws(),
    ]);
    bus = await createTestBus(aws.clientConfig, 'pullmedic');
    proxy = await startFaultProxy(aws.endpoint);
    await kube.api('POST', '/api/v1/namespaces', {
      metadata: { name: 'pullmedic' },
    });
    await kube.api('POST', '/api/v1/nodes', {
      metadata: { name: NODE },
      spec: { providerID: `aws:///us-east-1a/${INSTANCE}` },
    });
    // A machine without the cached binaries builds them first (about 7
    // minutes on 2 cores); CI runs test/k8s/build.sh before the tests.
  }, 45 * 60_000);

  afterAll(async () => {
    // Across every test: no (event, count) reached the bus twice.
    const seen = bus ? bus.delivered.map((d) => `${d.uid}#${d.count}`) : [];
    await proxy?.stop();
    await Promise.all([kube?.stop(), aws?.stop()]);
    expect(new Set(seen).size).toBe(seen.length);
  });

  const configFor = (extra: string[] = []) =>
    loadConfig(
      [
        '--cluster=test-cluster',
        '--bus=pullmedic',
        `--kubeconfig=${kube.kubeconfigPath}`,
        `--endpoint-url=${proxy.endpoint}`,
        '--host=127.0.0.1',
        '--port=0',
        '--flush-ms=300',
        '--checkpoint-interval-ms=200',
        '--namespace=pullmedic',
        '--identity=forwarder-a',
        ...extra,
      ],
      {}
    );

  const start = async (extra: string[] = []) => {
    const running = await startForwarder(configFor(extra), { log: silentLog });
    await running.synced;
    return running;
  };

  const warning = (message: string, reason = 'Failed') =>
    createKubeletEvent(kube, {
      pod: `web-${++pod}`,
      node: NODE,
      type: 'Warning',
      reason,
      message,
    });

  describe('Method: forwarding', () => {
    it('forwards a new event with the node instance id, then each repeat with its new count', async () => {
      // Prepare
      const forwarder = await start();
      const pullFailed =
        'Failed to pull image "registry.local/app:1": failed to extract layer: write /var/lib/containerd/tmp: no space left on device';

      // Act
      const ev = await warning(pullFailed);
      await bus.collect(
        (all) => countsOf(all, uidOf(ev)).includes(1),
        15_000,
        0
      );
      await repeatKubeletEvent(kube, ev, 2);
      await bus.collect(
        (all) => countsOf(all, uidOf(ev)).includes(2),
        15_000,
        0
      );
      await repeatKubeletEvent(kube, ev, 3);
      const all = await bus.collect((a) => countsOf(a, uidOf(ev)).includes(3));
      await forwarder.stop();

      // Assess
      expect(countsOf(all, uidOf(ev))).toEqual([1, 2, 3]);
      const first = all.find((d) => d.uid === uidOf(ev));
      expect(first?.detail.cluster).toBe('test-cluster');
      expect(first?.detail.node).toEqual({
        name: NODE,
        providerID: `aws:///us-east-1a/${INSTANCE}`,
        instanceId: INSTANCE,
      });
      expect(first?.resources).toEqual([INSTANCE]);
      expect(first?.message).toBe(pullFailed);
    });

    it('forwards the Normal reasons the pipeline needs and none of the others', async () => {
      // Prepare
      const forwarder = await start();

      // Act
      const scheduled = await createKubeletEvent(kube, {
        pod: `web-${++pod}`,
        node: NODE,
        type: 'Normal',
        reason: 'Scheduled',
        message: 'Successfully assigned default/web to node',
      });
      const pulled = await createKubeletEvent(kube, {
        pod: `web-${++pod}`,
        node: NODE,
        type: 'Normal',
        reason: 'Pulled',
        message: 'Successfully pulled image "registry.local/app:1"',
      });
      const all = await bus.collect((a) =>
        a.some((d) => d.uid === uidOf(pulled))
      );
      await forwarder.stop();

      // Assess
      expect(countsOf(all, uidOf(pulled))).toEqual([1]);
      expect(countsOf(all, uidOf(scheduled))).toEqual([]);
    });

    it('retries only the entries a PutEvents call failed', async () => {
      // Prepare
      const forwarder = await start(['--flush-ms=500']);
      const before = proxy.calls.length;
      proxy.failOddEntriesOfNextCall();

      // Act
      const created = [];
      for (let i = 0; i < 6; i++) {
        created.push(await warning(`Failed to pull image: attempt ${i}`));
      }
      const uids = created.map(uidOf);
      const all = await bus.collect((a) =>
        uids.every((u) => a.some((d) => d.uid === u))
      );
      await forwarder.stop();

      // Assess
      const calls = proxy.calls.slice(before);
      const failedAt = calls.findIndex((c) => c.injectedFailures > 0);
      expect(failedAt).toBeGreaterThanOrEqual(0);
      const failedCall = calls[failedAt];
      const failedKeys = failedCall?.keys.filter((_, i) => i % 2 === 1) ?? [];
      const retried = calls
        .slice(failedAt + 1)
        .flatMap((c) => c.keys)
        .filter((k) => failedCall?.keys.includes(k));
      expect(retried.sort()).toEqual([...failedKeys].sort());
      for (const uid of uids) expect(countsOf(all, uid)).toEqual([1]);
      expect(forwarder.metrics.retries.total()).toBe(failedKeys.length);
      expect(forwarder.metrics.failed.total()).toBe(0);
    });

    it('truncates a message over 256 KB with a marker instead of failing the batch', async () => {
      // Prepare
      const forwarder = await start(['--flush-ms=500']);
      const before = proxy.calls.length;
      const huge = `Failed to pull image: ${'x'.repeat(300 * 1024)}`;

      // Act
      const big = await warning(huge);
      const small = await warning('Failed to pull image: small one');
      const all = await bus.collect((a) =>
        [big, small].every((ev) => a.some((d) => d.uid === uidOf(ev)))
      );
      await forwarder.stop();

      // Assess
      const delivered = all.find((d) => d.uid === uidOf(big));
      expect(delivered?.message.endsWith(MARKER)).toBe(true);
      expect(delivered?.message.length).toBeLessThan(256 * 1024);
      expect(countsOf(all, uidOf(small))).toEqual([1]);
      const sizes = proxy.calls.slice(before).flatMap((c) => c.sizes);
      expect(Math.max(...sizes)).toBeLessThan(256 * 1024);
      expect(forwarder.metrics.truncated.total()).toBe(1);
      expect(forwarder.metrics.failed.total()).toBe(0);
    });
  });

  describe('Method: restart', () => {
    it('neither re-sends nor loses events across a restart and a 410 Gone', async () => {
      // Prepare
      const first = await start();
      const e1 = await warning('Failed to pull image: before the restart 1');
      const e2 = await warning('Failed to pull image: before the restart 2');
      await bus.collect(
        (a) => [e1, e2].every((ev) => a.some((d) => d.uid === uidOf(ev))),
        15_000,
        0
      );
      await first.stop();

      // Act: while it is down, a new event and a repeat; then etcd
      // compaction, so the checkpointed resourceVersion is gone.
      const e3 = await warning('Failed to pull image: while down');
      await repeatKubeletEvent(kube, e1, 2);
      await kube.compact();
      const second = await start();
      const all = await bus.collect(
        (a) =>
          a.some((d) => d.uid === uidOf(e3)) &&
          countsOf(a, uidOf(e1)).includes(2),
        20_000,
        2_000
      );
      await second.stop();

      // Assess
      expect(countsOf(all, uidOf(e1))).toEqual([1, 2]);
      expect(countsOf(all, uidOf(e2))).toEqual([1]);
      expect(countsOf(all, uidOf(e3))).toEqual([1]);
      expect(second.metrics.relists.get({ reason: 'expired' })).toBeGreaterThan(
        0
      );
      expect(
        second.metrics.received.get({ outcome: 'duplicate' })
      ).toBeGreaterThan(0);
    });

    it('drains and checkpoints on SIGTERM, serving health, readiness and metrics', async () => {
      // Prepare
      const port = await freePort();
      const child: ChildProcess = spawn(
        process.execPath,
        [
          resolve(repoRoot, 'forwarder/main.ts'),
          '--cluster=test-cluster',
          '--bus=pullmedic',
          `--kubeconfig=${kube.kubeconfigPath}`,
          `--endpoint-url=${aws.endpoint}`,
          '--host=127.0.0.1',
          `--port=${port}`,
          '--namespace=pullmedic',
          '--identity=forwarder-process',
          '--flush-ms=200',
          '--log-level=warn',
        ],
        {
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: 'testing',
            AWS_SECRET_ACCESS_KEY: 'testing',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        }
      );
      let output = '';
      child.stdout?.on('data', (c: Buffer) => {
        output += c.toString();
      });
      child.stderr?.on('data', (c: Buffer) => {
        output += c.toString();
      });
      const base = `http://127.0.0.1:${port}`;
      let ready = 0;
      for (let i = 0; i < 200 && ready !== 200; i++) {
        ready = await fetch(`${base}/readyz`).then(
          (r) => r.status,
          () => 0
        );
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }

      // Act
      const ev = await warning('Failed to pull image: seen by the process');
      await bus.collect((a) => a.some((d) => d.uid === uidOf(ev)), 15_000, 0);
      const health = await fetch(`${base}/healthz`);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      child.kill('SIGTERM');
      const [code] = (await Promise.race([
        once(child, 'exit'),
        new Promise((r) => setTimeout(() => r([-1]), 25_000)),
      ])) as [number];
      const checkpoint = await kube.api(
        'GET',
        '/api/v1/namespaces/pullmedic/configmaps/pullmedic-forwarder-checkpoint'
      );

      // Assess
      expect(ready, output).toBe(200);
      expect(health.status).toBe(200);
      expect(metrics).toMatch(/pullmedic_forwarder_events_forwarded_total 1/);
      expect(metrics).toMatch(/pullmedic_forwarder_batch_size_count/);
      expect(code, output).toBe(0);
      const data = (checkpoint.data as Record<string, string>)[
        'checkpoint.json'
      ];
      const sent = (JSON.parse(data ?? '{}') as { sent: [string, number][] })
        .sent;
      expect(sent).toContainEqual([uidOf(ev), 1]);
    });
  });

  describe('infra/k8s', () => {
    it('grants the forwarder what it needs, and the API server accepts the manifests', async () => {
      // Prepare
      for (const file of [
        'infra/k8s/serviceaccount.yaml',
        'infra/k8s/rbac.yaml',
      ]) {
        for (const doc of await manifests(file)) {
          await kube.api('POST', PATHS[doc.kind as string] as string, doc);
        }
      }
      const kc = new KubeConfig();
      kc.loadFromFile(kube.kubeconfigPath);
      kc.setCurrentContext('forwarder');
      const forwarder = await startForwarder(configFor(), {
        kc,
        log: silentLog,
      });
      await forwarder.synced;

      // Act
      const ev = await warning('Failed to pull image: as the service account');
      const all = await bus.collect((a) => a.some((d) => d.uid === uidOf(ev)));
      await forwarder.stop();
      const pods = await listPage(kc, '/api/v1/pods', { limit: 1 }).catch(
        (err: unknown) => err
      );
      const dryRuns = [];
      for (const file of ['infra/k8s/deployment.yaml', 'infra/k8s/pdb.yaml']) {
        for (const doc of await manifests(file)) {
          dryRuns.push(
            await kube.api(
              'POST',
              `${PATHS[doc.kind as string]}?dryRun=All&fieldValidation=Strict`,
              doc
            )
          );
        }
      }

      // Assess
      expect(countsOf(all, uidOf(ev))).toEqual([1]);
      expect(
        forwarder.metrics.checkpoints.get({ outcome: 'ok' })
      ).toBeGreaterThan(0);
      expect(forwarder.metrics.checkpoints.get({ outcome: 'error' })).toBe(0);
      expect(pods).toBeInstanceOf(KubeCallError);
      expect((pods as KubeCallError).status).toBe(403);
      expect(dryRuns.map((d) => d.kind)).toEqual([
        'Deployment',
        'PodDisruptionBudget',
      ]);
    });
  });

  describe('Method: leader election', () => {
    it('lets one replica forward and hands over when it stops', async () => {
      // Prepare
      const a = await startForwarder(configFor(['--identity=replica-a']), {
        log: silentLog,
      });
      await a.synced;
      const b = await startForwarder(configFor(['--identity=replica-b']), {
        log: silentLog,
      });
      await new Promise((r) => setTimeout(r, 500));
      const one = await warning('Failed to pull image: with two replicas');
      await bus.collect(
        (all) => all.some((d) => d.uid === uidOf(one)),
        15_000,
        0
      );

      // Act
      const leaderBefore = [a, b].map((r) => r.metrics.leader.get());
      await a.stop();
      await b.synced;
      const two = await warning('Failed to pull image: after the handover');
      const all = await bus.collect((x) => x.some((d) => d.uid === uidOf(two)));
      await b.stop();

      // Assess
      expect(leaderBefore).toEqual([1, 0]);
      expect(b.state).toBe('stopped');
      expect(countsOf(all, uidOf(one))).toEqual([1]);
      expect(countsOf(all, uidOf(two))).toEqual([1]);
    });
  });
  describe('Method: events.k8s.io/v1', () => {
    it('reads the same events through events.k8s.io/v1 and sends them in the core/v1 shape', async () => {
      // Prepare: a reason no other test watches, so no other forwarder here
      // lists it.
      const forwarder = await start([
        '--events-api=events.k8s.io',
        '--selectors=type=Normal,reason=Killing',
        '--checkpoint-name=events-v1-checkpoint',
        '--lease-name=events-v1',
      ]);

      // Act
      const ev = await createKubeletEvent(kube, {
        pod: `web-${++pod}`,
        node: NODE,
        type: 'Normal',
        reason: 'Killing',
        message: 'Stopping container app',
      });
      await bus.collect((a) => countsOf(a, uidOf(ev)).includes(1), 15_000, 0);
      await repeatKubeletEvent(kube, ev, 2);
      const all = await bus.collect((a) => countsOf(a, uidOf(ev)).includes(2));
      await forwarder.stop();

      // Assess
      expect(countsOf(all, uidOf(ev))).toEqual([1, 2]);
      const first = all.find((d) => d.uid === uidOf(ev));
      expect(first?.message).toBe('Stopping container app');
      expect(first?.detail.event).toMatchObject({
        involvedObject: { kind: 'Pod', name: `web-${pod}` },
        source: { host: NODE },
      });
      expect(first?.resources).toEqual([INSTANCE]);
    });
  });
});
