import type { BusDetail, DetailOf } from '../events/contracts.ts';
import { DETAIL_TYPES, type DetailType } from '../events/detail-types.ts';

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
export function repeatKeyOf<K extends DetailType>(
  detailType: K,
  detail: DetailOf<K>
): string | undefined {
  // The detail-type and its detail, as one value that narrows together.
  const e = { detailType, detail } as BusDetail;
  const fields: Readonly<Record<string, unknown>> = detail;
  // A replay's or a dry run's notices are counted apart from live ones.
  const scope =
    typeof fields.replayName === 'string'
      ? `replay:${fields.replayName}`
      : fields.dryRun === true
        ? 'dry-run'
        : 'live';
  if (e.detailType === DETAIL_TYPES.imagePullFailureClassified) {
    const d = e.detail;
    const pod = d.pod ? `${d.pod.namespace}/${d.pod.name}` : '-/-';
    return `${scope}/pull/${d.cluster}/${d.node.name}/${pod}/${d.class}`;
  }
  if (e.detailType === DETAIL_TYPES.incidentEscalated) {
    const d = e.detail;
    if (d.incidentId !== undefined) return undefined;
    return `${scope}/escalation/${d.cluster}/${d.node.name}/${d.reason}`.slice(
      0,
      512
    );
  }
  if (e.detailType === DETAIL_TYPES.podRestartSkipped) {
    // Past the per-incident maximum, the rest of a storm's pods are each
    // left alone the same way: one message says so, the timeline names all.
    const d = e.detail;
    if (d.reason !== 'over-limit') return undefined;
    return `${scope}/restart-over-limit/${d.incidentId}`.slice(0, 512);
  }
  return undefined;
}
