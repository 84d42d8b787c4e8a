import { DETAIL_TYPES } from '../events/detail-types.ts';
import {
  eventTimeOf,
  imageOf,
  instanceIdOf,
  nodeNameOf,
  podOf,
} from '../events/kubernetes-event-facts.ts';
import type {
  ImagePullFailureClassifiedDetail,
  KubernetesEventDetail,
} from '../events/schemas.ts';
import { classify } from './classification/classify.ts';
import type { RunMode } from './context.ts';
import type { Emitted, NodeDirectory } from './ports.ts';

/** What the classify use case needs from the outside. */
export interface ClassifyDeps {
  nodes: NodeDirectory;
}

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
    instanceIdOf(detail.node) ??
    // Events from kubernetes-event-exporter carry only the node name.
    (verdict.class === 'disk_full'
      ? await deps.nodes.instanceIdOf(node)
      : undefined);

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
    image: imageOf(event.message, verdict.image),
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
      time: eventTimeOf(event) ?? envelopeTime,
      uid: event.metadata.uid,
      count: event.count,
      message: event.message.slice(0, 4096),
    },
  };
  return [
    { detailType: DETAIL_TYPES.imagePullFailureClassified, detail: classified },
  ];
}
