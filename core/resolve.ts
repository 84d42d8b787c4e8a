import { DETAIL_TYPES } from '../events/detail-types.ts';
import {
  eventTimeOf,
  nodeNameOf,
  podOf,
} from '../events/kubernetes-event-facts.ts';
import type {
  IncidentResolvedDetail,
  KubernetesEventDetail,
  PodRef,
  PodRestartedDetail,
  PodRestartSkippedDetail,
  TimelineEntry,
} from '../events/schemas.ts';
import { decisionBase, incidentKey, type RunMode } from './context.ts';
import type { Emitted, IncidentRecord, IncidentStore } from './ports.ts';

export interface ResolveDeps {
  incidents: IncidentStore;
}

/**
 * The restart this pod replaces: a `pod-restarted` step whose controller
 * names it (ReplicaSet, Job and DaemonSet pods are `<owner>-<suffix>`; a
 * StatefulSet's new pod keeps the name `<owner>-<ordinal>`), in the same
 * namespace.
 */
const restartReplacedBy = (
  pod: PodRef | undefined,
  incident: IncidentRecord
): (TimelineEntry & { pod: PodRef }) | undefined => {
  if (pod === undefined) return undefined;
  return incident.timeline.find(
    (t): t is TimelineEntry & { pod: PodRef } =>
      t.step === 'pod-restarted' &&
      t.pod?.namespace === pod.namespace &&
      t.owner !== undefined &&
      pod.name.startsWith(`${t.owner.name}-`)
  );
};

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
 * Whether the event proves the recovery: a restarted pod's replacement by
 * its Started (which also times the restart; its Pulled comes just before
 * and waits for it), any other by provesRecovery.
 */
const proves = (
  event: KubernetesEventDetail['event'],
  incident: IncidentRecord
): boolean =>
  restartReplacedBy(podOf(event), incident) !== undefined
    ? event.reason === 'Started'
    : provesRecovery(event, incident);

/**
 * What one look at a Pulled or Started event found:
 * - `resolved`: it closed the incident (the events to emit);
 * - `not-yet`: the incident it may prove is not there yet, or its prune not
 *   sent yet; in a replay, where every event arrives at once, it may be on
 *   its way;
 * - `unrelated`: it proves nothing about any incident.
 */
export type Resolution =
  | { kind: 'resolved'; emitted: Emitted[] }
  | { kind: 'not-yet' }
  | { kind: 'unrelated' };

/**
 * Closes the node's incident when, after the prune was sent (or, for an
 * incident pullmedic only escalated, after it opened), a pull or a start
 * succeeds for the incident's pod or image: the kubelet's own retry is the
 * proof that the node healed. Events from before the incident opened (the
 * init container's pull in the seed, say), and events about other pods,
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
  const resolution = await resolutionOf(detail, envelopeTime, run, deps);
  return resolution.kind === 'resolved' ? resolution.emitted : [];
}

/**
 * Like resolveIncident, and says why nothing happened: the caller of a
 * replay looks again at an event whose incident is `not-yet` there.
 *
 * @example
 * ```ts
 * const r = await resolutionOf(detail, envelopeTime, run, deps);
 * if (r.kind === 'not-yet' && run.replayName) await requeue(record, 30);
 * ```
 */
export async function resolutionOf(
  detail: KubernetesEventDetail,
  envelopeTime: string,
  run: RunMode,
  deps: ResolveDeps
): Promise<Resolution> {
  const { event } = detail;
  const node = nodeNameOf(detail);
  if (node === undefined) return { kind: 'unrelated' };
  const key = incidentKey(detail.cluster, node, run);
  const incident = await deps.incidents.get(key);
  if (incident === undefined) return { kind: 'not-yet' };
  if (incident.status !== 'open') {
    // A redelivery of the event that resolved it (its publish, or the
    // save of its decision, failed): the same resolution, emitted again.
    const last = incident.timeline.at(-1);
    return last?.step === 'resolved' && last.eventId === run.eventId
      ? resolvedBy(detail, incident, last.at, run)
      : { kind: 'unrelated' };
  }
  // An escalated incident gets no prune: a person's fix is proven the same
  // way, by the next successful pull.
  if (
    incident.remedy !== 'escalate' &&
    (incident.step === 'opened' || incident.step === 'prune-claimed')
  )
    return { kind: 'not-yet' };
  const at = eventTimeOf(event) ?? envelopeTime;
  // Compared with the opening in the events' own clock (the kubelet's), so
  // a replay with the original times resolves as the incident did.
  if (Date.parse(at) < Date.parse(incident.openedAt)) {
    return { kind: 'unrelated' };
  }
  if (!proves(event, incident)) return { kind: 'unrelated' };

  const entry = {
    at,
    step: 'resolved',
    eventId: run.eventId,
    detail: `${event.reason}: ${event.message}`.slice(0, 512),
  };
  if (!(await deps.incidents.resolve(key, incident.incidentId, at, entry))) {
    return { kind: 'unrelated' };
  }
  return resolvedBy(
    detail,
    { ...incident, timeline: [...incident.timeline, entry] },
    at,
    run
  );
}

/** The Incident Resolved event of an incident `detail`'s event closed at `at`. */
function resolvedBy(
  detail: KubernetesEventDetail,
  incident: IncidentRecord,
  at: string,
  run: RunMode
): Resolution {
  const { event } = detail;
  const pod = podOf(event);
  const restart = restartReplacedBy(pod, incident);
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
    ...(restart && pod && event.reason === 'Started'
      ? {
          restart: {
            pod: restart.pod,
            replacement: pod,
            startedAfterSeconds: Math.max(
              0,
              (Date.parse(at) - Date.parse(restart.at)) / 1000
            ),
          },
        }
      : {}),
    timeline: incident.timeline,
  };
  return {
    kind: 'resolved',
    emitted: [{ detailType: DETAIL_TYPES.incidentResolved, detail: resolved }],
  };
}

/**
 * Notes on the incident's timeline what the cluster agent did with a pod
 * it was asked to restart: deleted it (with its controller, so the
 * replacement's Started can be told apart and timed) or left it alone, and
 * why. Nothing to emit: the agent's own event tells on-call. An incident a
 * newer one replaced keeps its timeline as it was.
 *
 * @example
 * ```ts
 * await noteRestart('Pod Restarted', detail, run, deps);
 * ```
 */
export async function noteRestart(
  outcome:
    | { kind: 'restarted'; detail: PodRestartedDetail }
    | { kind: 'skipped'; detail: PodRestartSkippedDetail; at: string },
  run: RunMode,
  deps: ResolveDeps
): Promise<void> {
  const { detail } = outcome;
  const key = incidentKey(detail.cluster, detail.node.name, run);
  const pod = { namespace: detail.pod.namespace, name: detail.pod.name };
  const name = `${pod.namespace}/${pod.name}`;
  const entry: TimelineEntry =
    outcome.kind === 'restarted'
      ? {
          at: outcome.detail.deletedAt,
          step: 'pod-restarted',
          eventId: run.eventId,
          detail: `${name} deleted; its ${outcome.detail.owner.kind} ${outcome.detail.owner.name} makes a new pod, which pulls now`,
          pod,
          owner: outcome.detail.owner,
        }
      : {
          at: outcome.at,
          step: 'pod-restart-skipped',
          eventId: run.eventId,
          detail:
            `${name} left alone (${outcome.detail.reason}): ${outcome.detail.why}`.slice(
              0,
              512
            ),
          pod,
        };
  await deps.incidents.appendTimeline(key, detail.incidentId, entry);
}
