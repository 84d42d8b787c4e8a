import type { ImagePullFailureClassifiedDetail } from '../events/schemas.ts';
import { incidentKey, type RunMode } from './context.ts';
import type { IncidentKey, IncidentRecord, IncidentStore } from './ports.ts';

export interface JoinDeps {
  incidents: Pick<IncidentStore, 'get' | 'appendTimeline'>;
}

/** The incident store's calls the records of one batch can share. */
export type BatchIncidents = Pick<
  IncidentStore,
  'get' | 'appendTimeline' | 'notePod'
>;

/**
 * The incident store as one batch's records share it: each node's
 * incident is read once a batch instead of once an event, and each pod is
 * noted once. The records of a batch are handled concurrently, so a read
 * one of them shares is one it could have taken itself at the same
 * moment; the writes still check the incident id, and noting a pod is
 * idempotent. Under a storm most events repeat a failure the incident
 * knows, and read and note the same few things. A failed call is not
 * shared: the next record calls again.
 *
 * @example
 * ```ts
 * const batch = { incidents: batchShared(deps.incidents) };
 * await joinWithoutCause(backOff, run, batch, looks, 2);
 * ```
 */
export function batchShared(incidents: BatchIncidents): BatchIncidents {
  const reads = new Map<string, Promise<IncidentRecord | undefined>>();
  const notes = new Map<string, Promise<void>>();
  const once = <T>(
    calls: Map<string, Promise<T>>,
    id: string,
    call: () => Promise<T>
  ): Promise<T> => {
    let pending = calls.get(id);
    if (pending === undefined) {
      pending = call();
      calls.set(id, pending);
      pending.catch(() => calls.delete(id));
    }
    return pending;
  };
  const idOf = (key: IncidentKey) =>
    JSON.stringify([key.cluster, key.node, key.scope]);
  return {
    get: (key) => once(reads, idOf(key), () => incidents.get(key)),
    appendTimeline: (key, incidentId, entry, current) =>
      incidents.appendTimeline(key, incidentId, entry, current),
    notePod: (key, incidentId, pod) =>
      once(
        notes,
        JSON.stringify([idOf(key), incidentId, pod.namespace, pod.name]),
        () => incidents.notePod(key, incidentId, pod)
      ),
  };
}

/**
 * What became of an event that names no cause:
 * - `joined`: it is on its incident's timeline;
 * - `look-again`: no incident of its pod is open yet, and the Failed event
 *   that opens it may still be on its way (queues do not keep order);
 * - `let-go`: no incident of its pod after the last look, so it belongs to
 *   a failure pullmedic does not act on.
 */
export type JoinVerdict =
  | { kind: 'joined'; incidentId: string }
  | { kind: 'look-again' }
  | { kind: 'let-go'; why: string };

const samePod = (
  incident: IncidentRecord,
  classified: ImagePullFailureClassifiedDetail
): boolean =>
  incident.pod === undefined ||
  (incident.pod.namespace === classified.pod?.namespace &&
    incident.pod.name === classified.pod?.name);

/** The event happened while the (now resolved) incident was open. */
const during = (incident: IncidentRecord, at: string): boolean => {
  const t = Date.parse(at);
  return (
    Date.parse(incident.openedAt) <= t &&
    incident.resolvedAt !== undefined &&
    t <= Date.parse(incident.resolvedAt)
  );
};

/**
 * A BackOff or "Error: ErrImagePull" names no cause: it joins the incident
 * of its pod on its node, on the timeline, and never opens one. It may
 * arrive before the Failed event that opens the incident, so until
 * `lastLook` it asks to be looked at again instead of being dropped; and a
 * late one still joins the incident it happened during, even once that is
 * resolved, so the postmortem keeps it.
 *
 * @example
 * ```ts
 * const verdict = await joinWithoutCause(backOff, run, deps, looks, 2);
 * if (verdict.kind === 'look-again') await requeue(record, 30);
 * ```
 */
export async function joinWithoutCause(
  classified: ImagePullFailureClassifiedDetail,
  run: RunMode,
  deps: JoinDeps,
  looks: number,
  lastLook: number
): Promise<JoinVerdict> {
  const key = incidentKey(classified.cluster, classified.node.name, run);
  const incident = await deps.incidents.get(key);
  const at = classified.kubernetesEvent.time;
  const open = incident?.status === 'open';
  if (
    incident !== undefined &&
    samePod(incident, classified) &&
    (open || during(incident, at))
  ) {
    await deps.incidents.appendTimeline(
      key,
      incident.incidentId,
      {
        at,
        step: 'joined',
        eventId: run.eventId,
        detail:
          `${classified.kubernetesEvent.reason}: ${classified.kubernetesEvent.message}`.slice(
            0,
            300
          ),
      },
      incident
    );
    return { kind: 'joined', incidentId: incident.incidentId };
  }
  if (incident !== undefined && open) {
    // Another pod's incident is open on the node: this pod's failure is
    // its own, and waiting would not change whose incident is open.
    return {
      kind: 'let-go',
      why: `the open incident on ${classified.node.name} is another pod's`,
    };
  }
  if (looks < lastLook) return { kind: 'look-again' };
  return {
    kind: 'let-go',
    why: `no incident of its pod on ${classified.node.name}`,
  };
}
