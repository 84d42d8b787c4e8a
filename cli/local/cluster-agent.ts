import { randomBytes } from 'node:crypto';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { ClusterCallError } from '../../core/errors.ts';
import { handleRestartRequest } from '../../core/pod-restart.ts';
import type { ClusterPods, LiveNamespace, LivePod } from '../../core/ports.ts';
import { SOURCES } from '../../events/detail-types.ts';
import { PodRestartRequestedDetail } from '../../events/schemas.ts';
import type { LocalClients } from './environment.ts';
import { type Note, nextOrder } from './gaps.ts';
import type { KubeletStandIn, StuckPod } from './kubelet.ts';

/** The cluster agent's defaults (forwarder/agent/config.ts). */
const AGENT_MAX_PODS = 10;
const AGENT_OPTED_OUT = ['kube-system'];

/** How a controller names its pods, and the controller's name in it. */
const CONTROLLER_NAMES = [
  [/^(.+-[a-z0-9]{6,10})-[a-z0-9]{5}$/, 'ReplicaSet'],
  [/^(.+)-\d+$/, 'StatefulSet'],
] as const;

/**
 * The controller a pod's name says it has, as Kubernetes names pods:
 * `<replicaset>-<5 characters>` (a Deployment's ReplicaSet is
 * `<deployment>-<hash>`), `<statefulset>-<ordinal>`. Simulated: the local
 * runtime has no API server, so the owner reference is inferred from the
 * name; a name that fits neither is a bare pod.
 */
function ownerOf(name: string): LivePod['owners'] {
  for (const [pattern, kind] of CONTROLLER_NAMES) {
    const owner = name.match(pattern)?.[1];
    if (owner) {
      return [{ apiVersion: 'apps/v1', kind, name: owner, controller: true }];
    }
  }
  return [];
}

/** Five characters as a ReplicaSet's pod suffix has them. */
const suffix = (): string => {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
};

/**
 * The pods of the local nodes as the cluster agent reads them, simulated
 * from what the kubelet stand-in knows: a pod whose pull fails waits in
 * ImagePullBackOff; a delete makes its controller create a new pod on the
 * same node (a ReplicaSet's with a new name, a StatefulSet's with the same
 * name and a new uid), whose pull the kubelet stand-in starts at once.
 */
export class LocalClusterPods implements ClusterPods {
  readonly #kubelet: KubeletStandIn;
  readonly #notes: Note[];

  constructor(kubelet: KubeletStandIn, notes: Note[]) {
    this.#kubelet = kubelet;
    this.#notes = notes;
  }

  #stuck(namespace: string, name: string): StuckPod | undefined {
    return this.#kubelet
      .stuckPods()
      .find((p) => p.namespace === namespace && p.pod === name);
  }

  #live(p: StuckPod): LivePod {
    const container = p.fieldPath?.match(/\{(.+)\}/)?.[1] ?? 'main';
    return {
      namespace: p.namespace,
      name: p.pod,
      uid: p.podUid ?? `local-${p.namespace}-${p.pod}`,
      nodeName: p.node,
      owners: ownerOf(p.pod),
      containers: [
        {
          name: container,
          init: p.fieldPath?.startsWith('spec.initContainers') ?? false,
          image: p.image,
          waiting: p.fresh
            ? { reason: 'ContainerCreating' }
            : {
                reason: 'ImagePullBackOff',
                message: `Back-off pulling image "${p.image}"`,
              },
        },
      ],
    };
  }

  async getPod(namespace: string, name: string): Promise<LivePod> {
    const stuck = this.#stuck(namespace, name);
    if (stuck) return this.#live(stuck);
    if (this.#kubelet.isRunning(namespace, name)) {
      return {
        namespace,
        name,
        uid: `local-${namespace}-${name}`,
        owners: ownerOf(name),
        containers: [],
      };
    }
    throw new ClusterCallError(`getting pod ${namespace}/${name}`, 404);
  }

  async getNamespace(name: string): Promise<LiveNamespace> {
    return { name, labels: {}, annotations: {} };
  }

  async deletePod(namespace: string, name: string, uid: string): Promise<void> {
    const stuck = this.#stuck(namespace, name);
    if (!stuck)
      throw new ClusterCallError(`deleting pod ${namespace}/${name}`, 404);
    if (this.#live(stuck).uid !== uid) {
      throw new ClusterCallError(`deleting pod ${namespace}/${name}`, 409);
    }
    const owner = ownerOf(name)[0];
    const replacement =
      owner?.kind === 'ReplicaSet'
        ? `${owner.name}-${suffix()}`
        : owner?.kind === 'StatefulSet'
          ? name
          : undefined;
    this.#kubelet.replace(stuck, replacement);
    this.#notes.push({
      at: new Date(),
      order: nextOrder(),
      who: 'cluster',
      text: `simulated cluster: ${namespace}/${name} deleted${replacement ? `; its ${owner?.kind} ${owner?.name} created ${namespace}/${replacement} on ${stuck.node}` : ''}`,
    });
  }

  async listPods(): Promise<LivePod[]> {
    return this.#kubelet.stuckPods().map((p) => this.#live(p));
  }
}

/**
 * The cluster agent's queue processor, in process: it takes each
 * `Pod Restart Requested` its rule delivered, carries it out through the
 * same core as the agent in the cluster (core/pod-restart.ts) against the
 * simulated pods, and puts each `Pod Restarted` or `Pod Restart Skipped`
 * on the bus as pullmedic.agent. How many requests it handled.
 */
export async function runClusterAgent(
  c: LocalClients,
  queueUrl: string,
  busName: string,
  pods: ClusterPods,
  notes: Note[]
): Promise<number> {
  const received = await c.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
    })
  );
  const messages = received.Messages ?? [];
  for (const message of messages) {
    const envelope = JSON.parse(message.Body ?? '{}') as { detail?: unknown };
    const request = PodRestartRequestedDetail.safeParse(envelope.detail);
    if (!request.success) {
      notes.push({
        at: new Date(),
        order: nextOrder(),
        who: 'agent',
        text: `cluster agent stand-in: a request it cannot read: ${request.error.message.slice(0, 200)}`,
      });
      continue;
    }
    const emitted = await handleRestartRequest(request.data, {
      pods,
      clock: { now: () => new Date() },
      policy: {
        optedOutNamespaces: AGENT_OPTED_OUT,
        maxPods: AGENT_MAX_PODS,
        dryRun: false,
      },
    });
    for (let i = 0; i < emitted.length; i += 10) {
      await c.eventBridge.send(
        new PutEventsCommand({
          Entries: emitted.slice(i, i + 10).map((e) => ({
            EventBusName: busName,
            Source: SOURCES.agent,
            DetailType: e.detailType,
            Detail: JSON.stringify(e.detail),
          })),
        })
      );
    }
    notes.push({
      at: new Date(),
      order: nextOrder(),
      who: 'agent',
      text: `cluster agent stand-in (simulated pods) took the restart request of ${request.data.incidentId}: ${emitted.map((e) => e.detailType).join(', ')}`,
    });
  }
  if (messages.length) {
    await c.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({
          Id: String(i),
          ReceiptHandle: m.ReceiptHandle as string,
        })),
      })
    );
  }
  return messages.length;
}
