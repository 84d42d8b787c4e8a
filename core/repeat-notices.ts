import { DETAIL_TYPES } from '../events/detail-types.ts';
import type {
  ImagePullFailureClassifiedDetail,
  IncidentEscalatedDetail,
  PodRestartSkippedDetail,
} from '../events/schemas.ts';

/**
 * The key under which repeats of a notice are counted instead of posted,
 * or undefined for the steps of an incident (each is posted once by
 * construction: the incident's claims make it so).
 *
 * A kubelet retries a failing pull for as long as the pod exists and
 * reports each retry: a bad tag on fifty replicas would otherwise post a
 * message per replica every five minutes, all day. Repeats are per pod and
 * class for a classification, and per node and reason for an escalation
 * that no incident holds (the kill switch, say).
 *
 * @example
 * ```ts
 * repeatKeyOf('Image Pull Failure Classified', detail);
 * // 'live/pull/prod/ip-10-0-1-149.ec2.internal/inference/triton-…/auth'
 * ```
 */
export function repeatKeyOf(
  detailType: string,
  detail: Record<string, unknown>
): string | undefined {
  // A replay's or a dry run's notices are counted apart from live ones.
  const scope =
    typeof detail.replayName === 'string'
      ? `replay:${detail.replayName}`
      : detail.dryRun === true
        ? 'dry-run'
        : 'live';
  if (detailType === DETAIL_TYPES.imagePullFailureClassified) {
    const d = detail as unknown as ImagePullFailureClassifiedDetail;
    const pod = d.pod ? `${d.pod.namespace}/${d.pod.name}` : '-/-';
    return `${scope}/pull/${d.cluster}/${d.node.name}/${pod}/${d.class}`;
  }
  if (detailType === DETAIL_TYPES.incidentEscalated) {
    const d = detail as unknown as IncidentEscalatedDetail;
    if (d.incidentId !== undefined) return undefined;
    return `${scope}/escalation/${d.cluster}/${d.node.name}/${d.reason}`.slice(
      0,
      512
    );
  }
  if (detailType === DETAIL_TYPES.podRestartSkipped) {
    // Past the per-incident maximum, the rest of a storm's pods are each
    // left alone the same way: one message says so, the timeline names all.
    const d = detail as unknown as PodRestartSkippedDetail;
    if (d.reason !== 'over-limit') return undefined;
    return `${scope}/restart-over-limit/${d.incidentId}`.slice(0, 512);
  }
  return undefined;
}
