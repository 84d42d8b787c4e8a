import { DETAIL_TYPES } from '../events/detail-types.ts';
import {
  MAX_PODS_PER_REQUEST,
  type PodRef,
  type PodRestartRequestedDetail,
  type PodRestartTarget,
} from '../events/schemas.ts';
import type { DecisionBase } from './context.ts';
import type { Clock, Emitted, IncidentRecord } from './ports.ts';

/**
 * `Pod Restart Requested` for an incident whose node has room again: its
 * own pod first, then the other pods that failed the same way, each once,
 * at most MAX_PODS_PER_REQUEST; the agent restarts at most `maxPods` of
 * them. Nothing when the incident names no pod or restarts are turned off
 * (maxPods 0). A dry-run or a replay asks too: the agent's rule never
 * takes those, and the thread says what would have been restarted.
 *
 * @example
 * ```ts
 * const request = restartRequest(incident, base, 'prune', 10, clock);
 * if (request) emitted.push(request);
 * ```
 */
export function restartRequest(
  incident: IncidentRecord,
  base: DecisionBase,
  after: PodRestartRequestedDetail['after'],
  maxPods: number,
  clock: Clock
): Emitted | undefined {
  if (maxPods < 1) return undefined;
  const seen = new Set<string>();
  const pods: PodRestartTarget[] = [];
  for (const pod of [
    ...(incident.pod ? [incident.pod] : []),
    ...(incident.pods ?? []),
  ]) {
    const key = keyOf(pod);
    if (seen.has(key) || pods.length >= MAX_PODS_PER_REQUEST) continue;
    seen.add(key);
    pods.push(podRefOf(pod));
  }
  if (pods.length === 0) return undefined;
  const detail: PodRestartRequestedDetail = {
    ...base,
    incidentId: incident.incidentId,
    ...(incident.image ? { image: incident.image } : {}),
    pods,
    after,
    maxPods,
    requestedAt: clock.now().toISOString(),
  };
  return { detailType: DETAIL_TYPES.podRestartRequested, detail };
}

const keyOf = (pod: PodRef): string => `${pod.namespace}/${pod.name}`;

/**
 * The incident without the pods a step of it already asked to restart
 * (after the prune, say) or the agent restarted: a later request names
 * only the others.
 *
 * @example
 * ```ts
 * restartRequest(notYetAsked(incident), base, 'rollout', 10, clock);
 * ```
 */
export function notYetAsked(incident: IncidentRecord): IncidentRecord {
  const asked = new Set<string>(
    incident.timeline.flatMap((t) => [
      ...(t.restarts ?? []).map(keyOf),
      ...(t.step === 'pod-restarted' && t.pod ? [keyOf(t.pod)] : []),
    ])
  );
  const fresh = (pod: PodRef) => !asked.has(keyOf(pod));
  return {
    ...incident,
    pod: incident.pod && fresh(incident.pod) ? incident.pod : undefined,
    pods: (incident.pods ?? []).filter(fresh),
  };
}

/**
 * The namespace and name of a pod, without what else a target carries.
 *
 * @example
 * ```ts
 * podRefOf({ namespace: 'inference', name: 'triton-0', uid: 'u' });
 * // { namespace: 'inference', name: 'triton-0' }
 * ```
 */
export const podRefOf = (pod: PodRef): PodRef => ({
  namespace: pod.namespace,
  name: pod.name,
});
