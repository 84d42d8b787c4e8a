import { DETAIL_TYPES } from '../events/detail-types.ts';
import type {
  IncidentResolvedDetail,
  KubernetesEventDetail,
} from '../events/schemas.ts';
import { eventTimeOf, nodeNameOf, podOf } from './classify-event.ts';
import { decisionBase, incidentKey, type RunMode } from './context.ts';
import type { Emitted, IncidentRecord, IncidentStore } from './ports.ts';

export interface ResolveDeps {
  incidents: IncidentStore;
}

/**
 * Whether a Pulled or Started event speaks for the incident: it is about
 * the incident's pod, or it pulled the incident's image. Another pod
 * starting on the node proves nothing about the one that was stuck.
 */
const provesRecovery = (
  event: KubernetesEventDetail['event'],
  incident: IncidentRecord
): boolean => {
  const pod = event.involvedObject;
  const samePod =
    pod.kind === 'Pod' &&
    pod.namespace === incident.pod?.namespace &&
    pod.name === incident.pod?.name;
  const sameImage =
    incident.image !== undefined &&
    event.message.includes(`"${incident.image}"`);
  return incident.pod === undefined || samePod || sameImage;
};

/**
 * Closes the node's incident when, after the prune was sent, a pull or a
 * start succeeds for the incident's pod or image: the kubelet's own retry
 * is the proof that the node healed. Events from before the incident
 * opened (the init container's pull in the seed, say), and events about
 * other pods, prove nothing and change nothing.
 *
 * @example
 * ```ts
 * const emitted = await resolveIncident(detail, envelopeTime, run, deps);
 * ```
 */
export async function resolveIncident(
  detail: KubernetesEventDetail,
  envelopeTime: string,
  run: RunMode,
  deps: ResolveDeps
): Promise<Emitted[]> {
  const { event } = detail;
  const node = nodeNameOf(detail);
  if (node === undefined) return [];
  const key = incidentKey(detail.cluster, node, run);
  const incident = await deps.incidents.get(key);
  if (incident?.status !== 'open' || incident.pruneRequestedAt === undefined) {
    return [];
  }
  const at = eventTimeOf(event, envelopeTime);
  // Compared with the opening in the events' own clock (the kubelet's), so
  // a replay with the original times resolves as the incident did.
  if (Date.parse(at) < Date.parse(incident.openedAt)) return [];
  if (!provesRecovery(event, incident)) return [];

  const entry = {
    at,
    step: 'resolved',
    eventId: run.eventId,
    detail: `${event.reason}: ${event.message}`.slice(0, 512),
  };
  if (!(await deps.incidents.resolve(key, incident.incidentId, at, entry))) {
    return [];
  }
  const pod = podOf(event);
  const resolved: IncidentResolvedDetail = {
    ...decisionBase(detail.cluster, incident.node, run),
    incidentId: incident.incidentId,
    openedAt: incident.openedAt,
    resolvedAt: at,
    mttrSeconds: Math.max(
      0,
      (Date.parse(at) - Date.parse(incident.openedAt)) / 1000
    ),
    resolvedBy: {
      reason: event.reason,
      ...(pod ? { pod } : {}),
      message: event.message.slice(0, 4096),
    },
    timeline: [...incident.timeline, entry],
  };
  return [{ detailType: DETAIL_TYPES.incidentResolved, detail: resolved }];
}
