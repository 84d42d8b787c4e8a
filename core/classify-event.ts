import { DETAIL_TYPES } from '../events/detail-types.ts';
import {
  IMAGE_REFERENCE,
  instanceIdFromProviderId,
  nodeName as nodeNameSchema,
} from '../events/names.ts';
import type {
  ImagePullFailureClassifiedDetail,
  KubernetesEventDetail,
  KubernetesEventObject,
} from '../events/schemas.ts';
import { classify } from './classification/classify.ts';
import type { RunMode } from './context.ts';
import type { Emitted, NodeDirectory } from './ports.ts';

/** What the classify use case needs from the outside. */
export interface ClassifyDeps {
  nodes: NodeDirectory;
}

/**
 * The time a Kubernetes Event last happened: eventTime (events.k8s.io),
 * then lastTimestamp, then firstTimestamp, then the envelope's time.
 *
 * @example
 * ```ts
 * eventTimeOf(event, '2026-11-20T09:41:00Z');
 * ```
 */
export const eventTimeOf = (
  event: KubernetesEventObject,
  fallback: string
): string =>
  event.eventTime ??
  event.lastTimestamp ??
  event.firstTimestamp ??
  event.metadata.creationTimestamp ??
  fallback;

/** The node an event happened on: the forwarder's enrichment, else the kubelet's host. */
export const nodeNameOf = (detail: KubernetesEventDetail): string | undefined =>
  detail.node?.name ??
  detail.event.source?.host ??
  (detail.event.involvedObject.kind === 'Node'
    ? nodeNameSchema.safeParse(detail.event.involvedObject.name).data
    : undefined);

/**
 * The pod an event is about, when it is about a pod.
 *
 * @example
 * ```ts
 * podOf(event); // { namespace: 'inference', name: 'triton-79569cfbbc-m2wcc' }
 * ```
 */
export const podOf = (
  event: KubernetesEventObject
): { namespace: string; name: string } | undefined =>
  event.involvedObject.kind === 'Pod' && event.involvedObject.namespace
    ? {
        namespace: event.involvedObject.namespace,
        name: event.involvedObject.name,
      }
    : undefined;

const IMAGE_IN_MESSAGE = /image "([^"\s]{1,512})"/;

/**
 * Classifies one forwarded Kubernetes Event. Returns the
 * `Image Pull Failure Classified` event to emit, or nothing when the event
 * names no node (nothing to remediate) or its node is unknown to EC2 for a
 * class that needs it.
 *
 * @example
 * ```ts
 * const emitted = await classifyKubernetesEvent(detail, time, run, deps);
 * ```
 */
export async function classifyKubernetesEvent(
  detail: KubernetesEventDetail,
  envelopeTime: string,
  run: RunMode,
  deps: ClassifyDeps
): Promise<Emitted[]> {
  const { event } = detail;
  const node = nodeNameOf(detail);
  if (node === undefined) return [];

  const verdict = classify({
    reason: event.reason,
    message: event.message,
    type: event.type,
  });
  const instanceId =
    detail.node?.instanceId ??
    instanceIdFromProviderId(detail.node?.providerID) ??
    // Events from kubernetes-event-exporter carry only the node name.
    (verdict.class === 'disk_full'
      ? await deps.nodes.instanceIdOf(node)
      : undefined);

  const image =
    verdict.image ?? event.message.match(IMAGE_IN_MESSAGE)?.[1] ?? undefined;
  const pod = podOf(event);

  const classified: ImagePullFailureClassifiedDetail = {
    cluster: detail.cluster,
    node: { name: node, instanceId },
    dryRun: run.dryRun,
    replayName: run.replayName,
    class: verdict.class,
    evidence: verdict.evidence,
    causeKnown: verdict.causeKnown,
    remedy: verdict.remedy,
    pod,
    // An image reference goes on only when it has the characters of one.
    image: image && IMAGE_REFERENCE.test(image) ? image : undefined,
    registry: verdict.registry,
    layerDigest: verdict.layerDigest,
    path: verdict.path,
    runtime: verdict.runtime,
    filesystem: verdict.filesystem,
    pullContext: verdict.pullContext,
    gcWantedBytes: verdict.gcWantedBytes,
    gcFreedBytes: verdict.gcFreedBytes,
    kubernetesEvent: {
      reason: event.reason,
      type: event.type,
      time: eventTimeOf(event, envelopeTime),
      uid: event.metadata.uid,
      count: event.count,
      message: event.message.slice(0, 4096),
    },
  };
  return [
    { detailType: DETAIL_TYPES.imagePullFailureClassified, detail: classified },
  ];
}
