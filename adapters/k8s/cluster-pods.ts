import {
  CoreV1Api,
  type KubeConfig,
  type V1Container,
  type V1ContainerStatus,
  type V1Pod,
} from '@kubernetes/client-node';
import { ClusterCallError } from '../../core/errors.ts';
import type {
  ClusterPods,
  LiveContainer,
  LiveNamespace,
  LivePod,
} from '../../core/ports.ts';
import { isRecord } from '../../events/json.ts';

/** Pods per page when listing: the API server's usual chunk size. */
const PAGE = 500;

// Finished pods cannot be stuck pulling; the API server filters them out.
const UNFINISHED = 'status.phase!=Succeeded,status.phase!=Failed';

/**
 * The message of the API server's Status in an ApiException's body (a JSON
 * string), else the exception's own message, cut short.
 */
function statusMessage(err: unknown): string | undefined {
  if (!isRecord(err)) return undefined;
  const { body } = err;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as unknown;
      if (isRecord(status) && typeof status.message === 'string')
        return status.message.slice(0, 500);
    } catch {
      // Not JSON: a proxy's page, say. Fall through to the status code.
    }
  }
  return undefined;
}

const codeOf = (err: unknown): number | undefined =>
  isRecord(err) && typeof err.code === 'number' ? err.code : undefined;

/** A client-node failure as ClusterCallError: the status and the Status message. */
function callError(action: string, err: unknown): ClusterCallError {
  const message = statusMessage(err);
  return new ClusterCallError(action, codeOf(err), {
    cause: message === undefined ? err : new Error(message, { cause: err }),
  });
}

const iso = (d: Date | undefined): string | undefined =>
  d instanceof Date ? d.toISOString() : undefined;

/** One container's spec image and, from its status, what it waits for. */
function liveContainer(
  spec: V1Container,
  init: boolean,
  status: V1ContainerStatus | undefined
): LiveContainer {
  const waiting = status?.state?.waiting;
  return {
    name: spec.name,
    init,
    image: spec.image ?? status?.image ?? '',
    ...(waiting?.reason
      ? {
          waiting: {
            reason: waiting.reason,
            ...(waiting.message ? { message: waiting.message } : {}),
          },
        }
      : {}),
  };
}

/** Init containers first (the order they run in), then the others. */
function containersOf(pod: V1Pod): LiveContainer[] {
  const byName = (list: V1ContainerStatus[] | undefined) =>
    new Map((list ?? []).map((s) => [s.name, s]));
  const init = byName(pod.status?.initContainerStatuses);
  const main = byName(pod.status?.containerStatuses);
  return [
    ...(pod.spec?.initContainers ?? []).map((c) =>
      liveContainer(c, true, init.get(c.name))
    ),
    ...(pod.spec?.containers ?? []).map((c) =>
      liveContainer(c, false, main.get(c.name))
    ),
  ];
}

/**
 * A pod as the agent reads it: identity, node, owners and, for each
 * container and init container, the spec's image and its waiting state.
 *
 * @example
 * ```ts
 * const live = toLivePod(await core.readNamespacedPod({ namespace, name }));
 * ```
 */
export function toLivePod(pod: V1Pod): LivePod {
  const meta = pod.metadata ?? {};
  const deletion = iso(meta.deletionTimestamp);
  const nodeName = pod.spec?.nodeName;
  return {
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    ...(nodeName ? { nodeName } : {}),
    ...(deletion ? { deletionTimestamp: deletion } : {}),
    owners: (meta.ownerReferences ?? []).map((o) => ({
      apiVersion: o.apiVersion,
      kind: o.kind,
      name: o.name,
      controller: o.controller === true,
    })),
    containers: containersOf(pod),
  };
}

/**
 * The cluster agent's view of the Kubernetes API (@kubernetes/client-node),
 * within its RBAC: get, list and delete pods, get namespaces. Errors
 * become ClusterCallError with the HTTP status and the API server's
 * message.
 *
 * @example
 * ```ts
 * const pods = new KubeClusterPods(kc);
 * await pods.deletePod('inference', 'triton-79569cfbbc-m2wcc', uid);
 * ```
 */
export class KubeClusterPods implements ClusterPods {
  readonly #core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  async getPod(namespace: string, name: string): Promise<LivePod> {
    try {
      return toLivePod(await this.#core.readNamespacedPod({ namespace, name }));
    } catch (err) {
      throw callError(`GET pod ${namespace}/${name}`, err);
    }
  }

  async getNamespace(name: string): Promise<LiveNamespace> {
    try {
      const ns = await this.#core.readNamespace({ name });
      return {
        name,
        labels: ns.metadata?.labels ?? {},
        annotations: ns.metadata?.annotations ?? {},
      };
    } catch (err) {
      throw callError(`GET namespace ${name}`, err);
    }
  }

  async deletePod(namespace: string, name: string, uid: string): Promise<void> {
    try {
      // No gracePeriodSeconds: the pod's own terminationGracePeriodSeconds
      // applies. The uid precondition makes the API server refuse (409)
      // when the name now belongs to another pod (a StatefulSet's
      // replacement): only the pod that was looked at is deleted.
      await this.#core.deleteNamespacedPod({
        namespace,
        name,
        body: { preconditions: { uid } },
      });
    } catch (err) {
      throw callError(`DELETE pod ${namespace}/${name}`, err);
    }
  }

  async listPods(signal?: AbortSignal): Promise<LivePod[]> {
    const out: LivePod[] = [];
    let cont: string | undefined;
    do {
      if (signal?.aborted) throw new ClusterCallError('LIST pods: aborted');
      let page: Awaited<ReturnType<CoreV1Api['listPodForAllNamespaces']>>;
      try {
        page = await this.#core.listPodForAllNamespaces({
          fieldSelector: UNFINISHED,
          limit: PAGE,
          ...(cont ? { _continue: cont } : {}),
        });
      } catch (err) {
        throw callError('LIST pods', err);
      }
      for (const pod of page.items) out.push(toLivePod(pod));
      cont = page.metadata?._continue || undefined;
    } while (cont);
    return out;
  }
}
