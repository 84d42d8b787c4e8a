import { DETAIL_TYPES } from '../events/detail-types.ts';
import type {
  IncidentResolvedDetail,
  KubernetesEventDetail,
} from '../events/schemas.ts';
import { eventTimeOf, nodeNameOf } from './classify-event.ts';
import { decisionBase, incidentKey, type RunMode } from './context.ts';
import type { Emitted, IncidentStore } from './ports.ts';

export interface ResolveDeps {
  incidents: IncidentStore;
}

/**
 * Closes the node's incident when a pull or a start succeeds on it after
 * the prune: the kubelet's own retry is the proof that the node healed.
 * Events from before the prune (the init container's pull in the seed, say)
 * prove nothing and change nothing.
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
  if (Date.parse(at) < Date.parse(incident.openedAt)) return [];

  const entry = {
    at,
    step: 'resolved',
    detail: `${event.reason}: ${event.message}`.slice(0, 512),
  };
  if (!(await deps.incidents.resolve(key, incident.incidentId, at, entry))) {
    return [];
  }
  const pod =
    event.involvedObject.kind === 'Pod' && event.involvedObject.namespace
      ? {
          namespace: event.involvedObject.namespace,
          name: event.involvedObject.name,
        }
      : undefined;
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
