import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const run = promisify(execFile);

/** A real kube-apiserver and etcd on loopback (test/k8s/start.sh). */
export interface TestKube {
  dir: string;
  kubeconfigPath: string;
  kc: KubeConfig;
  etcdEndpoint: string;
  /** A request as the admin, JSON in and out; throws on a non-2xx. */
  api(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string
  ): Promise<Record<string, unknown>>;
  /** Compacts etcd up to its current revision: older watches get 410. */
  compact(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts etcd and kube-apiserver with test/k8s/start.sh (building them
 * first when they are not cached) in a fresh temporary folder.
 *
 * @example
 * ```ts
 * const kube = await startTestKube();
 * await kube.api('POST', '/api/v1/namespaces/default/events', event);
 * await kube.stop();
 * ```
 */
export async function startTestKube(
  options: { extraArgs?: string } = {}
): Promise<TestKube> {
  const dir = mkdtempSync(join(tmpdir(), 'pullmedic-kube-'));
  await run('bash', [join(repoRoot, 'test/k8s/start.sh'), dir], {
    env: {
      ...process.env,
      KUBE_APISERVER_EXTRA_ARGS: options.extraArgs ?? '',
    },
    timeout: 30 * 60_000,
  });
  const env = Object.fromEntries(
    readFileSync(join(dir, 'env'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string])
  );
  const kubeconfigPath = env.KUBECONFIG as string;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const server = kc.getCurrentCluster()?.server as string;
  const ca = readFileSync(join(dir, 'pki/ca.crt'));
  const token = kc.getCurrentUser()?.token as string;
  const etcdEndpoint = env.ETCD_ENDPOINT as string;

  const api: TestKube['api'] = (method, path, body, contentType) =>
    new Promise((ok, fail) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        new URL(server + path),
        {
          method,
          ca,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(payload
              ? {
                  'content-type': contentType ?? 'application/json',
                  'content-length': Buffer.byteLength(payload),
                }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              fail(new Error(`${method} ${path}: ${status} ${text}`));
            } else {
              ok(text ? (JSON.parse(text) as Record<string, unknown>) : {});
            }
          });
        }
      );
      req.on('error', fail);
      req.end(payload);
    });

  const compact = async () => {
    const range = await fetch(`${etcdEndpoint}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: 'AA==', range_end: 'AA==', limit: 1 }),
    });
    const { header } = (await range.json()) as {
      header: { revision: string };
    };
    const res = await fetch(`${etcdEndpoint}/v3/kv/compaction`, {
      method: 'POST',
      body: JSON.stringify({ revision: header.revision, physical: true }),
    });
    if (!res.ok) throw new Error(`etcd compaction: ${await res.text()}`);
    return Number(header.revision);
  };

  return {
    dir,
    kubeconfigPath,
    kc,
    etcdEndpoint,
    api,
    compact,
    stop: async () => {
      await run('bash', [join(repoRoot, 'test/k8s/stop.sh'), dir]);
    },
  };
}

/** What kubelet's event recorder puts in an Event it creates. */
export interface KubeletEventSpec {
  namespace?: string;
  pod: string;
  node: string;
  type: 'Warning' | 'Normal';
  reason: string;
  message: string;
}

/**
 * Creates an Event the way kubelet's recorder does (client-go
 * tools/record): POST to core/v1 with name `<pod>.<hex nanos>`, the pod as
 * involvedObject, source {component: kubelet, host: node}, count 1.
 * Returns the created object.
 *
 * @example
 * ```ts
 * const ev = await createKubeletEvent(kube, { pod: 'web-1', node, type: 'Warning',
 *   reason: 'Failed', message: 'no space left on device' });
 * ```
 */
export async function createKubeletEvent(
  kube: TestKube,
  spec: KubeletEventSpec
): Promise<Record<string, unknown>> {
  const namespace = spec.namespace ?? 'default';
  const now = new Date();
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const nanos = BigInt(now.getTime()) * 1_000_000n + BigInt(randomInt());
  return kube.api('POST', `/api/v1/namespaces/${namespace}/events`, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${spec.pod}.${nanos.toString(16)}`, namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace,
      name: spec.pod,
      uid: `pod-${spec.pod}`,
      fieldPath: 'spec.containers{app}',
    },
    reason: spec.reason,
    message: spec.message,
    source: { component: 'kubelet', host: spec.node },
    firstTimestamp: stamp,
    lastTimestamp: stamp,
    count: 1,
    type: spec.type,
    eventTime: null,
    reportingComponent: 'kubelet',
    reportingInstance: spec.node,
  });
}

/**
 * Bumps `count` and `lastTimestamp` with a strategic-merge PATCH, as
 * kubelet's EventCorrelator does when the same event repeats.
 *
 * @example
 * ```ts
 * await repeatKubeletEvent(kube, created, 2);
 * ```
 */
export async function repeatKubeletEvent(
  kube: TestKube,
  event: Record<string, unknown>,
  count: number
): Promise<Record<string, unknown>> {
  const meta = event.metadata as { name: string; namespace: string };
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return kube.api(
    'PATCH',
    `/api/v1/namespaces/${meta.namespace}/events/${meta.name}`,
    { count, lastTimestamp: stamp, message: event.message },
    'application/strategic-merge-patch+json'
  );
}

const randomInt = () => randomBytes(2).readUInt16BE(0);

/** The objects of a manifest file, parsed by the PyYAML that moto brings. */
export async function readManifests(
  path: string
): Promise<Record<string, unknown>[]> {
  const { motoPython } = await import('../../../cli/local/moto.ts');
  const { stdout } = await run(await motoPython(), [
    '-c',
    'import sys, json, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))',
    resolve(repoRoot, path),
  ]);
  return JSON.parse(stdout) as Record<string, unknown>[];
}

/** One answer of the API server: the status and the body, parsed. */
export interface KubeAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * A client that calls the test API server with a bearer token (a
 * ServiceAccount's from the TokenRequest API), and its KubeConfig for
 * @kubernetes/client-node. Unlike `kube.api`, a refusal is an answer, not
 * an error: RBAC tests read the status.
 *
 * @example
 * ```ts
 * const agent = await asServiceAccount(kube, 'pullmedic', 'pullmedic-agent');
 * (await agent.call('GET', '/api/v1/secrets')).status; // 403
 * ```
 */
export async function asServiceAccount(
  kube: TestKube,
  namespace: string,
  name: string
): Promise<{
  token: string;
  kc: KubeConfig;
  call(method: string, path: string, body?: unknown): Promise<KubeAnswer>;
}> {
  const tokenRequest = await kube.api(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 3600 },
    }
  );
  const token = (tokenRequest.status as { token: string }).token;
  const server = kube.kc.getCurrentCluster()?.server as string;
  const caFile = join(kube.dir, 'pki/ca.crt');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server, caFile }],
    users: [{ name, token }],
    contexts: [{ name, cluster: 'test', user: name }],
    currentContext: name,
  });
  const ca = readFileSync(caFile);
  const call = (method: string, path: string, body?: unknown) =>
    new Promise<KubeAnswer>((ok, fail) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        new URL(server + path),
        {
          method,
          ca,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(payload
              ? {
                  'content-type': 'application/json',
                  'content-length': Buffer.byteLength(payload),
                }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            ok({
              status: res.statusCode ?? 0,
              body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
            });
          });
        }
      );
      // A call the API server keeps open (a watch it should have refused)
      // fails the test instead of hanging it.
      req.setTimeout(10_000, () =>
        req.destroy(new Error(`${method} ${path}: no answer in 10 s`))
      );
      req.on('error', fail);
      req.end(payload);
    });
  return { token, kc, call };
}
