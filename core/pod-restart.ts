import type { BusDetail } from '../events/contracts.ts';
import { DETAIL_TYPES } from '../events/detail-types.ts';
import { IMAGE_REFERENCE } from '../events/names.ts';
import {
  type PodRestartedDetail,
  type PodRestartRequestedDetail,
  type PodRestartSkippedDetail,
  type PodRestartSkipReason,
  type PodRestartTarget,
  RESTARTABLE_OWNER_KINDS,
} from '../events/schemas.ts';
import { ClusterCallError } from './errors.ts';
import type {
  Clock,
  ClusterPods,
  LiveContainer,
  LiveNamespace,
  LivePod,
} from './ports.ts';

/**
 * What the agent did with one pod of a request: restarted it, or left it
 * alone and why.
 */
export type RestartOutcome = BusDetail<
  typeof DETAIL_TYPES.podRestarted | typeof DETAIL_TYPES.podRestartSkipped
>;

/** The container states that mean "stuck pulling its image". */
export const PULL_FAILURE_REASONS: ReadonlySet<string> = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
]);

/**
 * A namespace opts out of restarts with this label or annotation set to
 * "false" (any other value, or none, leaves it in).
 */
export const OPT_OUT_KEY = 'pullmedic.io/restart-pods';

/** The API group/version each restartable controller kind lives in. */
const OWNER_API: Record<RestartableKind, string> = {
  ReplicaSet: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  Job: 'batch/v1',
};
type RestartableKind = (typeof RESTARTABLE_OWNER_KINDS)[number];

/** The agent's own limits, from its settings. */
export interface RestartPolicy {
  /** Namespaces never restarted, whatever their labels say (kube-system). */
  optedOutNamespaces: readonly string[];
  /** The agent's own ceiling on pods per request, over the request's. */
  maxPods: number;
  /** The agent's own dry-run: it decides and reports, never deletes. */
  dryRun: boolean;
}

/** What reading an object gave: the object, or the failure. */
export type Read<T> =
  | { ok: true; value: T }
  | { ok: false; status: number | undefined; message: string };

/** A pod to delete: the live pod, its controller and the stuck container. */
export interface RestartVerdict {
  action: 'delete';
  pod: LivePod;
  owner: { kind: RestartableKind; name: string };
  container: LiveContainer;
}

/** A pod left alone, and why in a sentence on-call can read. */
export interface SkipVerdict {
  action: 'skip';
  reason: PodRestartSkipReason;
  why: string;
  uid?: string;
}

export type PodVerdict = RestartVerdict | SkipVerdict;

const skip = (
  reason: PodRestartSkipReason,
  why: string,
  uid?: string
): SkipVerdict => ({ action: 'skip', reason, why, uid });

const podName = (p: { namespace: string; name: string }) =>
  `${p.namespace}/${p.name}`;

/**
 * How many of a request's pods may restart: the request's maximum, and
 * never more than the agent's own.
 *
 * @example
 * ```ts
 * restartLimit({ maxPods: 10 }, { maxPods: 5 }); // 5
 * ```
 */
export const restartLimit = (
  request: Pick<PodRestartRequestedDetail, 'maxPods'>,
  policy: Pick<RestartPolicy, 'maxPods'>
): number => Math.min(request.maxPods, policy.maxPods);

/**
 * Why the request must not delete anything, or undefined when it may:
 * the request was taken in dry-run, comes from a replay, or the agent runs
 * in dry-run itself.
 *
 * @example
 * ```ts
 * dryRunCause({ dryRun: false }, { dryRun: true }); // "the agent's DRY_RUN setting"
 * ```
 */
export function dryRunCause(
  request: Pick<PodRestartRequestedDetail, 'dryRun' | 'replayName'>,
  policy: Pick<RestartPolicy, 'dryRun'>
): string | undefined {
  if (request.replayName !== undefined)
    return `replay ${request.replayName} (a replay never deletes)`;
  if (request.dryRun) return 'the request was decided in dry-run';
  if (policy.dryRun) return "the agent's DRY_RUN setting";
  return undefined;
}

/**
 * The checks that need nothing read from the cluster: the pod is past the
 * per-incident maximum, or its namespace is in the agent's opted-out
 * list. Undefined when the pod must be looked at.
 *
 * @example
 * ```ts
 * precheck(request, 12, request.pods[12], policy); // { reason: 'over-limit', … }
 * ```
 */
export function precheck(
  request: PodRestartRequestedDetail,
  index: number,
  target: PodRestartTarget,
  policy: RestartPolicy
): SkipVerdict | undefined {
  const limit = restartLimit(request, policy);
  if (index >= limit) {
    return skip(
      'over-limit',
      `the request names ${request.pods.length} pods and at most ${limit} restart per incident: ${podName(target)} is number ${index + 1}`,
      target.uid
    );
  }
  if (policy.optedOutNamespaces.includes(target.namespace)) {
    return skip(
      'opted-out',
      `namespace ${target.namespace} is in the agent's opted-out namespaces (OPTED_OUT_NAMESPACES)`,
      target.uid
    );
  }
  return undefined;
}

/** A failed read as a skip: 404 not-found, 403 forbidden, the rest error. */
function readFailure(
  what: string,
  read: Extract<Read<unknown>, { ok: false }>,
  uid: string | undefined
): SkipVerdict {
  if (read.status === 404)
    return skip(
      'not-found',
      `${what} no longer exists: it was deleted or its controller replaced it`,
      uid
    );
  if (read.status === 403)
    return skip(
      'forbidden',
      `the API server refused to let the agent read ${what} (403): ${read.message}`,
      uid
    );
  return skip('error', `reading ${what} failed: ${read.message}`, uid);
}

/**
 * Image references as the runtime compares them: Docker Hub's implicit
 * registry and `library/`, and the implicit `:latest` tag, spelled out.
 *
 * @example
 * ```ts
 * normalizeImage('nginx'); // 'docker.io/library/nginx:latest'
 * ```
 */
export function normalizeImage(ref: string): string {
  let [name, digest] = ref.split('@', 2) as [string, string | undefined];
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const hasRegistry =
    first.includes('.') || first.includes(':') || first === 'localhost';
  if (!hasRegistry) name = `docker.io/${name}`;
  if (/^docker\.io\/[^/]+$/.test(name))
    name = name.replace('docker.io/', 'docker.io/library/');
  const last = name.slice(name.lastIndexOf('/') + 1);
  if (!last.includes(':') && digest === undefined) name = `${name}:latest`;
  return digest === undefined ? name : `${name}@${digest}`;
}

/**
 * Whether two references name the same image (see normalizeImage); a
 * reference with a digest matches the same name with a tag and that digest.
 *
 * @example
 * ```ts
 * sameImage('nginx', 'docker.io/library/nginx:latest'); // true
 * ```
 */
export function sameImage(a: string, b: string): boolean {
  const x = normalizeImage(a);
  const y = normalizeImage(b);
  if (x === y) return true;
  const digestOf = (r: string) => r.split('@')[1];
  const dx = digestOf(x);
  return dx !== undefined && dx === digestOf(y);
}

/**
 * The pod's first container waiting in ImagePullBackOff or ErrImagePull
 * (for `image`, when given), or undefined.
 *
 * @example
 * ```ts
 * stuckContainer(pod, 'registry.local/app:1')?.name; // 'app'
 * ```
 */
export function stuckContainer(
  pod: LivePod,
  image: string | undefined
): LiveContainer | undefined {
  return pod.containers.find(
    (c) =>
      c.waiting !== undefined &&
      PULL_FAILURE_REASONS.has(c.waiting.reason) &&
      (image === undefined || sameImage(c.image, image))
  );
}

/** The pod's controller, when it is one of the four that recreate pods. */
function restartableOwner(
  pod: LivePod
): { owner: RestartVerdict['owner'] } | { why: string } {
  const controller = pod.owners.find((o) => o.controller);
  if (controller === undefined) {
    return {
      why: `${podName(pod)} has no controller to recreate it (no ReplicaSet, StatefulSet, Job or DaemonSet owns it): deleting it would lose it; the kubelet's own retry will pull the image`,
    };
  }
  const kind = RESTARTABLE_OWNER_KINDS.find(
    (k) => k === controller.kind && OWNER_API[k] === controller.apiVersion
  );
  if (kind === undefined) {
    return {
      why: `${podName(pod)} is controlled by ${controller.kind} ${controller.name} (${controller.apiVersion}); pullmedic restarts only the pods of a ReplicaSet, StatefulSet, Job or DaemonSet, whose controllers recreate them`,
    };
  }
  return { owner: { kind, name: controller.name } };
}

/** Why a namespace opted out (label or annotation), or undefined. */
function optOutOf(ns: LiveNamespace): string | undefined {
  if (ns.labels[OPT_OUT_KEY] === 'false') return 'label';
  if (ns.annotations[OPT_OUT_KEY] === 'false') return 'annotation';
  return undefined;
}

/** What the request says of one pod, with the reads that looked at it. */
export interface PodReads {
  pod: Read<LivePod>;
  namespace: Read<LiveNamespace>;
}

/**
 * The decision for one pod, from the request and what the API server
 * says of the pod and its namespace now. Checks in order: the pod exists
 * and is still the one the incident saw (uid), runs on the incident's
 * node, is not being deleted, has a container waiting in
 * ImagePullBackOff/ErrImagePull for the incident's image, is owned by a
 * ReplicaSet, StatefulSet, Job or DaemonSet (they recreate it), and its
 * namespace did not opt out; then a dry-run request only says what it
 * would do.
 *
 * @example
 * ```ts
 * const verdict = decidePod(request, target, { pod, namespace }, policy);
 * if (verdict.action === 'delete') await pods.deletePod(…);
 * ```
 */
export function decidePod(
  request: PodRestartRequestedDetail,
  target: PodRestartTarget,
  reads: PodReads,
  policy: RestartPolicy
): PodVerdict {
  const name = podName(target);
  if (!reads.pod.ok) return readFailure(`pod ${name}`, reads.pod, target.uid);
  const pod = reads.pod.value;
  if (target.uid !== undefined && target.uid !== pod.uid) {
    return skip(
      'uid-changed',
      `${name} is another pod now (uid ${pod.uid}, the incident saw ${target.uid}): it was recreated already`,
      pod.uid
    );
  }
  if (pod.nodeName !== request.node.name) {
    return skip(
      'other-node',
      pod.nodeName === undefined
        ? `${name} is not bound to a node yet, not to ${request.node.name}`
        : `${name} runs on node ${pod.nodeName}, not on ${request.node.name}`,
      pod.uid
    );
  }
  if (pod.deletionTimestamp !== undefined) {
    return skip(
      'not-stuck',
      `${name} is already being deleted (since ${pod.deletionTimestamp})`,
      pod.uid
    );
  }
  const container = stuckContainer(pod, request.image);
  if (container === undefined) {
    const on = request.image === undefined ? '' : ` for ${request.image}`;
    return skip(
      'not-stuck',
      `no container of ${name} is waiting in ImagePullBackOff or ErrImagePull${on}: it pulled, or waits for something else`,
      pod.uid
    );
  }
  const owner = restartableOwner(pod);
  if ('why' in owner) return skip('bare-pod', owner.why, pod.uid);
  if (!reads.namespace.ok) {
    return readFailure(
      `namespace ${target.namespace}`,
      reads.namespace,
      pod.uid
    );
  }
  const optOut = optOutOf(reads.namespace.value);
  if (optOut !== undefined) {
    return skip(
      'opted-out',
      `namespace ${target.namespace} opted out: ${optOut} ${OPT_OUT_KEY}="false"`,
      pod.uid
    );
  }
  const dry = dryRunCause(request, policy);
  if (dry !== undefined) {
    return skip(
      'dry-run',
      `would delete ${name} (${owner.owner.kind} ${owner.owner.name} recreates it; container ${container.name} is in ${container.waiting?.reason}), but ${dry}`,
      pod.uid
    );
  }
  return { action: 'delete', pod, owner: owner.owner, container };
}

/** What the use case needs from the outside. */
export interface RestartDeps {
  pods: ClusterPods;
  clock: Clock;
  policy: RestartPolicy;
}

const read = async <T>(call: () => Promise<T>): Promise<Read<T>> => {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    return {
      ok: false,
      status: err instanceof ClusterCallError ? err.status : undefined,
      message: err instanceof Error ? err.message : String(err),
    };
  }
};

/** A failed delete as a skip: 409 uid-changed, 404 not-found, 403 forbidden. */
function deleteFailure(pod: LivePod, err: unknown): SkipVerdict {
  const name = podName(pod);
  const status = err instanceof ClusterCallError ? err.status : undefined;
  const message = err instanceof Error ? err.message : String(err);
  switch (status) {
    case 409:
      return skip(
        'uid-changed',
        `${name} was replaced between the look and the delete (uid ${pod.uid} no longer holds): nothing deleted`,
        pod.uid
      );
    case 404:
      return skip(
        'not-found',
        `${name} was gone by the time of the delete`,
        pod.uid
      );
    case 403:
      return skip(
        'forbidden',
        `the API server refused to let the agent delete ${name} (403): ${message}`,
        pod.uid
      );
    default:
      return skip('error', `deleting ${name} failed: ${message}`, pod.uid);
  }
}

/**
 * Carries out one `Pod Restart Requested`: looks at each named pod live,
 * deletes the ones still stuck pulling the incident's image on its node
 * that a controller will recreate (with a precondition on the uid, never
 * forced, the pod's own grace period), and returns one `Pod Restarted`
 * or `Pod Restart Skipped` per named pod, in the request's order. The
 * pods are handled one at a time: a request holds at most 50, and the
 * API server is spared a burst of deletes.
 *
 * @example
 * ```ts
 * const emitted = await handleRestartRequest(detail, { pods, clock, policy });
 * await publisher.publish(emitted);
 * ```
 */
export async function handleRestartRequest(
  request: PodRestartRequestedDetail,
  deps: RestartDeps
): Promise<RestartOutcome[]> {
  const namespaces = new Map<string, Promise<Read<LiveNamespace>>>();
  const namespaceOf = (name: string) => {
    let got = namespaces.get(name);
    if (got === undefined) {
      got = read(() => deps.pods.getNamespace(name));
      namespaces.set(name, got);
    }
    return got;
  };
  const emitted: RestartOutcome[] = [];
  for (const [index, target] of request.pods.entries()) {
    let verdict: PodVerdict | undefined = precheck(
      request,
      index,
      target,
      deps.policy
    );
    if (verdict === undefined) {
      const [pod, namespace] = await Promise.all([
        read(() => deps.pods.getPod(target.namespace, target.name)),
        namespaceOf(target.namespace),
      ]);
      verdict = decidePod(request, target, { pod, namespace }, deps.policy);
    }
    if (verdict.action === 'delete') {
      verdict = await carryOut(verdict, deps);
    }
    emitted.push(toEvent(request, target, verdict, deps.clock));
  }
  return emitted;
}

/** Deletes the pod; a refusal becomes the skip it stands for. */
async function carryOut(
  verdict: RestartVerdict,
  deps: RestartDeps
): Promise<PodVerdict> {
  try {
    await deps.pods.deletePod(
      verdict.pod.namespace,
      verdict.pod.name,
      verdict.pod.uid
    );
    return verdict;
  } catch (err) {
    return deleteFailure(verdict.pod, err);
  }
}

function toEvent(
  request: PodRestartRequestedDetail,
  target: PodRestartTarget,
  verdict: PodVerdict,
  clock: Clock
): RestartOutcome {
  const base = {
    cluster: request.cluster,
    node: { name: request.node.name },
    incidentId: request.incidentId,
  };
  if (verdict.action === 'delete') {
    const detail: PodRestartedDetail = {
      ...base,
      pod: {
        namespace: verdict.pod.namespace,
        name: verdict.pod.name,
        uid: verdict.pod.uid,
      },
      owner: verdict.owner,
      image: request.image ?? imageOf(verdict.container),
      deletedAt: clock.now().toISOString(),
    };
    return { detailType: DETAIL_TYPES.podRestarted, detail };
  }
  const uid = verdict.uid ?? target.uid;
  const detail: PodRestartSkippedDetail = {
    ...base,
    pod: {
      namespace: target.namespace,
      name: target.name,
      ...(uid === undefined ? {} : { uid }),
    },
    reason: verdict.reason,
    why: verdict.why.slice(0, 1024),
    ...(request.image === undefined ? {} : { image: request.image }),
    ...(request.dryRun ? { dryRun: true } : {}),
    ...(request.replayName === undefined
      ? {}
      : { replayName: request.replayName }),
  };
  return { detailType: DETAIL_TYPES.podRestartSkipped, detail };
}

// The container's image goes on the event only when it has the shape of a
// reference: it came from the API server, not through a schema.
const imageOf = (c: LiveContainer) =>
  IMAGE_REFERENCE.test(c.image) ? c.image : undefined;
