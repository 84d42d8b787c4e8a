import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { type Message, SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClusterPods } from '../../adapters/k8s/cluster-pods.ts';
import {
  createLocalEnvironment,
  LOCAL_NAMES,
  type LocalEnvironment,
} from '../../cli/local/environment.ts';
import { DEFAULT_FLEET, provisionFleet } from '../../cli/local/fleet.ts';
import { ClusterCallError } from '../../core/errors.ts';
import { RULE_PATTERNS } from '../../events/patterns.ts';
import { type RunningAgent, startAgent } from '../../forwarder/agent/agent.ts';
import { loadAgentConfig } from '../../forwarder/agent/config.ts';
import { silentLog } from '../../forwarder/log.ts';
import {
  busTap,
  lambdaContext,
  queueWithArn,
  receiveAll,
  receivedRecord,
} from '../helpers/aws.ts';
import { startTestAws } from '../helpers/moto.ts';
import {
  asServiceAccount,
  readManifests,
  startTestKube,
  type TestKube,
} from './helpers/kube.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLUSTER = DEFAULT_FLEET.cluster;
const NODE = DEFAULT_FLEET.nodes[0]?.name as string;
const OTHER_NODE = 'ip-10-0-9-9.ec2.internal';
const IMAGE = '478253497479.dkr.ecr.us-east-1.amazonaws.com/triton:resnet50';
// The seed's pull error, as the kubelet keeps it in the container status.
const ENOSPC = `failed to pull and unpack image "${IMAGE}": failed to extract layer (application/vnd.oci.image.layer.v1.tar+gzip sha256:573e602e6564cb45ecb9743e909c510eec7a78e6db1a3a1a7c343c091705bce1) to overlayfs as "extract-871885561-oknc sha256:85b8e878ad28f1bea36973f8a98ff4df41b8cf62db7583f9edce5fca0b9e582f": write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/360/fs/opt/nvidia/nsight-compute/2023.3.1/docs/pdf/NsightCompute.pdf: no space left on device`;

const PATHS: Record<string, string> = {
  ServiceAccount: '/api/v1/namespaces/pullmedic/serviceaccounts',
  ClusterRole: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
  ClusterRoleBinding: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
  ValidatingAdmissionPolicy:
    '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding:
    '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings',
  Deployment: '/apis/apps/v1/namespaces/pullmedic/deployments',
};

type Owner = { apiVersion: string; kind: string; name: string; uid: string };
type Waiting = { reason: string; message?: string };

const until = async (done: () => Promise<boolean>, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('Cluster agent (against a real kube-apiserver and moto)', () => {
  let kube: TestKube;
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let env: LocalEnvironment;
  let sqs: SQSClient;
  let eventBridge: EventBridgeClient;
  let agentQueue: { url: string; arn: string };
  let agentDlq: { url: string; arn: string };
  let agentEvents: string;
  let asAgent: Awaited<ReturnType<typeof asServiceAccount>>;
  let agent: RunningAgent;

  beforeAll(async () => {
    [kube, aws] = await Promise.all([
      startTestKube(),
      startTestAws({ amisPath: resolve(repoRoot, 'cli/local/amis.json') }),
    ]);
    // What the functions read, as the local runtime sets it.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      PULLMEDIC_BUS_NAME: LOCAL_NAMES.bus,
      PULLMEDIC_TABLE_NAME: LOCAL_NAMES.table,
      PULLMEDIC_PRUNE_DOCUMENT: LOCAL_NAMES.pruneDocument,
      PULLMEDIC_PRUNE_BOTTLEROCKET_DOCUMENT:
        LOCAL_NAMES.pruneBottlerocketDocument,
      PULLMEDIC_CONTROL_PARAMETER: LOCAL_NAMES.controlParameter,
      PULLMEDIC_SDK_MAX_ATTEMPTS: '1',
      PULLMEDIC_LOOK_AGAIN_SECONDS: '0',
    });
    const config = aws.clientConfig;
    sqs = new SQSClient(config);
    eventBridge = new EventBridgeClient(config);
    // The bus, the rules of events/patterns.json, the table, the prune
    // document; and the seed's node in EC2.
    env = await createLocalEnvironment({
      eventBridge,
      sqs,
      sns: new SNSClient(config),
      dynamo: new DynamoDBClient(config),
      ssm: new SSMClient(config),
    });
    for (const fn of ['classify', 'remediate'] as const) {
      const suffix = fn.toUpperCase();
      process.env[`PULLMEDIC_DLQ_URL_${suffix}`] = env.queues[fn].dlqUrl;
      process.env[`PULLMEDIC_QUEUE_URL_${suffix}`] = env.queues[fn].url;
    }
    await provisionFleet(DEFAULT_FLEET, {
      ec2: new EC2Client(config),
      eks: new EKSClient(config),
      autoscaling: new AutoScalingClient(config),
    });
    // The agent's rule and queue, as infra/serverless/queues.yml has them.
    agentDlq = await queueWithArn(sqs, 'pullmedic-local-agent-dlq');
    agentQueue = await queueWithArn(sqs, 'pullmedic-local-agent');
    await eventBridge.send(
      new PutRuleCommand({
        Name: 'pullmedic-local-agent',
        EventBusName: LOCAL_NAMES.bus,
        EventPattern: JSON.stringify(RULE_PATTERNS.agent),
      })
    );
    await eventBridge.send(
      new PutTargetsCommand({
        Rule: 'pullmedic-local-agent',
        EventBusName: LOCAL_NAMES.bus,
        Targets: [{ Id: 'agent', Arn: agentQueue.arn }],
      })
    );
    agentEvents = (
      await busTap(
        config,
        LOCAL_NAMES.bus,
        'agent-events',
        { source: ['pullmedic.agent'] },
        { createBus: false }
      )
    ).url;

    // The cluster: namespaces (each with the default ServiceAccount the
    // admission plugin looks up, as the controller manager would make
    // it), and the agent's shipped ServiceAccount, RBAC and policy.
    for (const [name, metadata] of [
      ['pullmedic', {}],
      ['inference', {}],
      ['labelled', { labels: { 'pullmedic.io/restart-pods': 'false' } }],
      ['annotated', { annotations: { 'pullmedic.io/restart-pods': 'false' } }],
    ] as const) {
      await kube.api('POST', '/api/v1/namespaces', {
        metadata: { name, ...metadata },
      });
      await kube.api('POST', `/api/v1/namespaces/${name}/serviceaccounts`, {
        metadata: { name: 'default' },
      });
    }
    for (const file of ['serviceaccount', 'rbac', 'admission-policy']) {
      for (const doc of await readManifests(`infra/k8s/agent/${file}.yaml`)) {
        await kube.api('POST', PATHS[doc.kind as string] as string, doc);
      }
    }
    asAgent = await asServiceAccount(kube, 'pullmedic', 'pullmedic-agent');
    agent = await startAgent(
      loadAgentConfig(
        [
          `--cluster=${CLUSTER}`,
          `--queue-url=${agentQueue.url}`,
          `--dead-letter-queue-url=${agentDlq.url}`,
          `--bus=${LOCAL_NAMES.bus}`,
          `--endpoint-url=${aws.endpoint}`,
          '--sweep-interval-seconds=0',
          '--receive-wait-seconds=1',
          '--host=127.0.0.1',
          '--port=0',
        ],
        {}
      ),
      { kc: asAgent.kc, log: silentLog }
    );
    // A machine without the cached binaries builds them first (minutes);
    // CI runs test/k8s/build.sh before the tests.
  }, 45 * 60_000);

  afterAll(async () => {
    await agent?.stop();
    await Promise.all([kube?.stop(), aws?.stop()]);
  });

  /** A ReplicaSet or StatefulSet that owns pods (no controller runs here). */
  const controller = async (
    namespace: string,
    kind: 'ReplicaSet' | 'StatefulSet',
    name: string
  ): Promise<Owner> => {
    const plural = kind === 'ReplicaSet' ? 'replicasets' : 'statefulsets';
    const labels = { app: name };
    const created = await kube.api(
      'POST',
      `/apis/apps/v1/namespaces/${namespace}/${plural}`,
      {
        metadata: { name },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'triton', image: IMAGE }] },
          },
        },
      }
    );
    const uid = (created.metadata as { uid: string }).uid;
    return { apiVersion: 'apps/v1', kind, name, uid };
  };

  /**
   * A pod bound to `node`, then its container status set through the
   * status subresource, as the kubelet reports it.
   */
  const pod = async (
    namespace: string,
    name: string,
    spec: { node: string; owner?: Owner; waiting?: Waiting }
  ): Promise<string> => {
    const created = await kube.api(
      'POST',
      `/api/v1/namespaces/${namespace}/pods`,
      {
        metadata: {
          name,
          ...(spec.owner
            ? {
                labels: { app: spec.owner.name },
                ownerReferences: [
                  { ...spec.owner, controller: true, blockOwnerDeletion: true },
                ],
              }
            : {}),
        },
        spec: {
          nodeName: spec.node,
          containers: [{ name: 'triton', image: IMAGE }],
        },
      }
    );
    await kube.api(
      'PATCH',
      `/api/v1/namespaces/${namespace}/pods/${name}/status`,
      {
        status: {
          phase: spec.waiting ? 'Pending' : 'Running',
          containerStatuses: [
            {
              name: 'triton',
              image: IMAGE,
              imageID: '',
              ready: !spec.waiting,
              restartCount: 0,
              state: spec.waiting
                ? { waiting: spec.waiting }
                : { running: { startedAt: new Date().toISOString() } },
            },
          ],
        },
      },
      'application/merge-patch+json'
    );
    return (created.metadata as { uid: string }).uid;
  };

  const stuck: Waiting = {
    reason: 'ImagePullBackOff',
    message: `Back-off pulling image "${IMAGE}": ErrImagePull: ${ENOSPC}`,
  };

  const podMeta = async (namespace: string, name: string) =>
    (await kube.api('GET', `/api/v1/namespaces/${namespace}/pods/${name}`))
      .metadata as { uid: string; deletionTimestamp?: string };

  const busEvents = async (url: string) =>
    (await receiveAll(sqs, url)).map(
      (m: Message) =>
        JSON.parse(m.Body as string) as {
          'detail-type': string;
          source: string;
          detail: Record<string, unknown>;
        }
    );

  describe('Method: sweep', () => {
    it('finds a stuck pod that no Event announced, and the pipeline opens its incident', async () => {
      // Prepare: a pod stuck on the seed's node; no Event exists for it.
      const owner = await controller(
        'inference',
        'ReplicaSet',
        'sweep-79569cfbbc'
      );
      await pod('inference', 'sweep-79569cfbbc-x2k4q', {
        node: NODE,
        owner,
        waiting: { reason: 'ErrImagePull', message: ENOSPC },
      });
      const events = await kube.api('GET', '/api/v1/events');

      // Act: one sweep, then the real classify and remediate handlers on
      // what the real rules (events/patterns.json) delivered.
      const report = await agent.sweepNow();
      const again = await agent.sweepNow();
      const { handler: classify } = await import('../../functions/classify.ts');
      const { handler: remediate } = await import(
        '../../functions/remediate.ts'
      );
      const run = async (
        fn: 'classify' | 'remediate',
        handler: typeof classify
      ) => {
        const messages = await receiveAll(sqs, env.queues[fn].url);
        const event: SQSEvent = { Records: messages.map(receivedRecord) };
        return {
          count: messages.length,
          out: await handler(event, lambdaContext(fn)),
        };
      };
      const classified = await run('classify', classify);
      const remediated = await run('remediate', remediate);
      const onBus = await busEvents(env.tapUrl);

      // Assess
      expect(
        (events.items as { involvedObject: { name: string } }[]).filter(
          (e) => e.involvedObject.name === 'sweep-79569cfbbc-x2k4q'
        )
      ).toEqual([]);
      expect(report).toEqual({ stuck: 1, reported: 1, failed: 0 });
      expect(again).toEqual({ stuck: 1, reported: 0, failed: 0 });
      expect(classified).toEqual({ count: 1, out: { batchItemFailures: [] } });
      expect(remediated).toEqual({ count: 1, out: { batchItemFailures: [] } });
      const entry = onBus.find((e) => e.source === 'pullmedic.agent');
      expect(entry?.detail).toMatchObject({
        cluster: CLUSTER,
        foundBy: 'sweep',
        node: { name: NODE },
        event: {
          reason: 'Failed',
          type: 'Warning',
          message: `Failed to pull image "${IMAGE}": ${ENOSPC}`,
          involvedObject: { name: 'sweep-79569cfbbc-x2k4q' },
          source: { host: NODE },
        },
      });
      const types = onBus.map((e) => e['detail-type']);
      expect(types).toEqual(
        expect.arrayContaining([
          'Kubernetes Event',
          'Image Pull Failure Classified',
          'Incident Opened',
          'Node Prune Requested',
        ])
      );
      const opened = onBus.find((e) => e['detail-type'] === 'Incident Opened');
      expect(opened?.detail).toMatchObject({
        cluster: CLUSTER,
        class: 'disk_full',
        node: { name: NODE },
        pod: { namespace: 'inference', name: 'sweep-79569cfbbc-x2k4q' },
        image: IMAGE,
      });
      // Found once; the pod is still stuck, but within the quiet period.
      await busEvents(agentEvents);
    });
  });

  describe('Method: restart request', () => {
    it('deletes the stuck controller-owned pod on the healed node, and leaves every other pod alone with the reason on the bus', async () => {
      // Prepare
      const rs = await controller(
        'inference',
        'ReplicaSet',
        'triton-79569cfbbc'
      );
      const sts = await controller('inference', 'StatefulSet', 'db');
      const uids: Record<string, string> = {
        'inference/triton-79569cfbbc-m2wcc': await pod(
          'inference',
          'triton-79569cfbbc-m2wcc',
          { node: NODE, owner: rs, waiting: stuck }
        ),
        'inference/triton-79569cfbbc-elsew': await pod(
          'inference',
          'triton-79569cfbbc-elsew',
          { node: OTHER_NODE, owner: rs, waiting: stuck }
        ),
        'inference/triton-79569cfbbc-hlthy': await pod(
          'inference',
          'triton-79569cfbbc-hlthy',
          { node: NODE, owner: rs }
        ),
        'inference/triton-debug': await pod('inference', 'triton-debug', {
          node: NODE,
          waiting: stuck,
        }),
        'labelled/triton': await pod('labelled', 'triton', {
          node: NODE,
          owner: await controller('labelled', 'ReplicaSet', 'triton'),
          waiting: stuck,
        }),
        'annotated/triton': await pod('annotated', 'triton', {
          node: NODE,
          owner: await controller('annotated', 'ReplicaSet', 'triton'),
          waiting: stuck,
        }),
        'inference/db-0': await pod('inference', 'db-0', {
          node: NODE,
          owner: sts,
          waiting: stuck,
        }),
      };
      // Meanwhile db-0 is replaced: the same name, another pod (uid).
      await kube.api('DELETE', '/api/v1/namespaces/inference/pods/db-0', {
        gracePeriodSeconds: 0,
      });
      const replacement = await pod('inference', 'db-0', {
        node: NODE,
        owner: sts,
        waiting: stuck,
      });
      await busEvents(agentEvents);

      // Act: the request on the bus, as prune-result puts it there; the
      // rule hands it to the agent's queue.
      await eventBridge.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: LOCAL_NAMES.bus,
              Source: 'pullmedic',
              DetailType: 'Pod Restart Requested',
              Detail: JSON.stringify({
                cluster: CLUSTER,
                node: { name: NODE },
                dryRun: false,
                incidentId: `${CLUSTER}/${NODE}/20261120T094059Z`,
                image: IMAGE,
                pods: Object.entries(uids).map(([key, uid]) => {
                  const [namespace, name] = key.split('/');
                  return { namespace, name, uid };
                }),
                after: 'prune',
                maxPods: 10,
                requestedAt: new Date().toISOString(),
              }),
            },
          ],
        })
      );
      await until(
        async () => agent.metrics.requests.get({ outcome: 'done' }) >= 1
      );
      const onBus = await busEvents(agentEvents);
      const left = await receiveAll(sqs, agentQueue.url);
      const after = Object.fromEntries(
        await Promise.all(
          Object.keys(uids).map(async (key) => {
            const [namespace, name] = key.split('/') as [string, string];
            return [key, await podMeta(namespace, name)] as const;
          })
        )
      );

      // Assess: only the stuck ReplicaSet pod on the node is being deleted
      // (graceful: no kubelet here to finish it).
      expect(
        Object.entries(after)
          .filter(([, m]) => m.deletionTimestamp !== undefined)
          .map(([key]) => key)
      ).toEqual(['inference/triton-79569cfbbc-m2wcc']);
      expect(after['inference/db-0']?.uid).toBe(replacement);
      expect(left).toEqual([]);
      const outcome = Object.fromEntries(
        onBus.map((e) => {
          const p = e.detail.pod as { namespace: string; name: string };
          return [
            `${p.namespace}/${p.name}`,
            e['detail-type'] === 'Pod Restarted'
              ? 'restarted'
              : String(e.detail.reason),
          ];
        })
      );
      expect(outcome).toEqual({
        'inference/triton-79569cfbbc-m2wcc': 'restarted',
        'inference/triton-79569cfbbc-elsew': 'other-node',
        'inference/triton-79569cfbbc-hlthy': 'not-stuck',
        'inference/triton-debug': 'bare-pod',
        'labelled/triton': 'opted-out',
        'annotated/triton': 'opted-out',
        'inference/db-0': 'uid-changed',
      });
      expect(onBus.every((e) => e.source === 'pullmedic.agent')).toBe(true);
      expect(
        onBus.find((e) => e['detail-type'] === 'Pod Restarted')?.detail
      ).toMatchObject({
        owner: { kind: 'ReplicaSet', name: 'triton-79569cfbbc' },
        pod: { uid: uids['inference/triton-79569cfbbc-m2wcc'] },
      });
    });

    it('never deletes for a dry-run request: the rule does not even deliver it', async () => {
      // Prepare
      const rs = await controller('inference', 'ReplicaSet', 'dry-7d9f8');
      const uid = await pod('inference', 'dry-7d9f8-abcde', {
        node: NODE,
        owner: rs,
        waiting: stuck,
      });
      const before = agent.metrics.requests.total();

      // Act
      await eventBridge.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: LOCAL_NAMES.bus,
              Source: 'pullmedic',
              DetailType: 'Pod Restart Requested',
              Detail: JSON.stringify({
                cluster: CLUSTER,
                node: { name: NODE },
                dryRun: true,
                incidentId: 'dry',
                pods: [
                  { namespace: 'inference', name: 'dry-7d9f8-abcde', uid },
                ],
                after: 'prune',
                maxPods: 10,
                requestedAt: new Date().toISOString(),
              }),
            },
          ],
        })
      );
      await new Promise((r) => setTimeout(r, 2500));

      // Assess
      expect(agent.metrics.requests.total()).toBe(before);
      expect(
        (await podMeta('inference', 'dry-7d9f8-abcde')).deletionTimestamp
      ).toBeUndefined();
    });

    it('has the API server refuse a delete whose uid no longer holds (409)', async () => {
      // Prepare
      const rs = await controller('inference', 'ReplicaSet', 'pre-6c5d4');
      await pod('inference', 'pre-6c5d4-qwert', {
        node: NODE,
        owner: rs,
        waiting: stuck,
      });
      const pods = new KubeClusterPods(asAgent.kc);

      // Act
      const refused = await pods
        .deletePod(
          'inference',
          'pre-6c5d4-qwert',
          '00000000-0000-0000-0000-000000000000'
        )
        .catch((err: unknown) => err);

      // Assess
      expect(refused).toBeInstanceOf(ClusterCallError);
      expect((refused as ClusterCallError).status).toBe(409);
      expect(
        (await podMeta('inference', 'pre-6c5d4-qwert')).deletionTimestamp
      ).toBeUndefined();
    });
  });

  describe('infra/k8s/agent', () => {
    it('lets the agent get, list and delete pods and get a namespace, and refuses everything else', async () => {
      // Prepare
      const rs = await controller('inference', 'ReplicaSet', 'rbac-5f6g7');
      await pod('inference', 'rbac-5f6g7-zxcvb', {
        node: NODE,
        owner: rs,
        waiting: stuck,
      });
      const asked = [
        ['GET', '/api/v1/pods?limit=1'],
        ['GET', '/api/v1/namespaces/inference/pods/rbac-5f6g7-zxcvb'],
        ['GET', '/api/v1/namespaces/inference'],
        ['GET', '/api/v1/namespaces'],
        ['GET', '/api/v1/pods?watch=1&timeoutSeconds=1'],
        ['GET', '/api/v1/namespaces/inference/secrets'],
        ['GET', '/api/v1/nodes'],
        ['GET', '/api/v1/namespaces/inference/events'],
        ['POST', '/api/v1/namespaces/inference/pods'],
        ['PATCH', '/api/v1/namespaces/inference/pods/rbac-5f6g7-zxcvb'],
        ['PUT', '/api/v1/namespaces/inference/pods/rbac-5f6g7-zxcvb/status'],
        ['POST', '/api/v1/namespaces/inference/pods/rbac-5f6g7-zxcvb/eviction'],
        ['DELETE', '/api/v1/namespaces/inference/configmaps/x'],
        ['DELETE', '/apis/apps/v1/namespaces/inference/replicasets/rbac-5f6g7'],
        ['DELETE', '/api/v1/namespaces/inference'],
      ] as const;

      // Act
      const answers = [];
      for (const [method, path] of asked) {
        const body = method === 'GET' || method === 'DELETE' ? undefined : {};
        answers.push(
          `${method} ${path} ${(await asAgent.call(method, path, body)).status}`
        );
      }

      // Assess
      expect(answers).toEqual(
        asked.map(
          ([method, path], i) => `${method} ${path} ${i < 3 ? 200 : 403}`
        )
      );
    });

    it('has the API server refuse the agent’s delete of a bare pod or in an opted-out namespace, whatever the agent decides', async () => {
      // Prepare
      await pod('inference', 'bare-lone', { node: NODE, waiting: stuck });
      await pod('labelled', 'out-1', {
        node: NODE,
        owner: await controller('labelled', 'ReplicaSet', 'out'),
        waiting: stuck,
      });
      await pod('annotated', 'out-2', {
        node: NODE,
        owner: await controller('annotated', 'ReplicaSet', 'out'),
        waiting: stuck,
      });

      // Act: straight to the API server with the agent's token.
      const bare = await asAgent.call(
        'DELETE',
        '/api/v1/namespaces/inference/pods/bare-lone'
      );
      const labelled = await asAgent.call(
        'DELETE',
        '/api/v1/namespaces/labelled/pods/out-1'
      );
      const annotated = await asAgent.call(
        'DELETE',
        '/api/v1/namespaces/annotated/pods/out-2'
      );
      const asAdmin = await kube.api(
        'DELETE',
        '/api/v1/namespaces/labelled/pods/out-1'
      );

      // Assess
      expect([bare.status, labelled.status, annotated.status]).toEqual([
        403, 403, 403,
      ]);
      expect(bare.body.message).toMatch(
        /pullmedic-agent-deletes.*the agent deletes only pods a ReplicaSet, StatefulSet, Job or DaemonSet controls/
      );
      expect(labelled.body.message).toMatch(
        /namespace labelled opted out of pod restarts/
      );
      expect(annotated.body.message).toMatch(/namespace annotated opted out/);
      // The policy binds the agent only.
      expect(asAdmin.kind).toBe('Pod');
    });

    it('ships a Deployment the API server accepts as it is', async () => {
      // Act
      const [doc] = await readManifests('infra/k8s/agent/deployment.yaml');
      const accepted = await kube.api(
        'POST',
        `${PATHS.Deployment}?dryRun=All&fieldValidation=Strict`,
        doc
      );

      // Assess
      const spec = accepted.spec as {
        replicas: number;
        template: {
          spec: {
            serviceAccountName: string;
            containers: { args: string[] }[];
          };
        };
      };
      expect(spec.replicas).toBe(1);
      expect(spec.template.spec.serviceAccountName).toBe('pullmedic-agent');
      expect(spec.template.spec.containers[0]?.args).toEqual(['agent']);
    });
  });
});
