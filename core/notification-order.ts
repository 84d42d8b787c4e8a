import { DETAIL_TYPES } from '../events/detail-types.ts';

/**
 * The steps of an incident in the order they happen. EventBridge stamps an
 * event's time to the second, and the steps of one incident often share a
 * second (a prune result and the roll it asks for), so the step decides
 * between equal times.
 */
const STEP_RANK: Record<string, number> = {
  [DETAIL_TYPES.imagePullFailureClassified]: 0,
  [DETAIL_TYPES.incidentOpened]: 1,
  [DETAIL_TYPES.nodePruneRequested]: 2,
  [DETAIL_TYPES.nodePruneCompleted]: 3,
  [DETAIL_TYPES.volumeRollProposed]: 4,
  [DETAIL_TYPES.volumeRollStarted]: 4,
  [DETAIL_TYPES.volumeRollCompleted]: 5,
  [DETAIL_TYPES.podRestartRequested]: 6,
  [DETAIL_TYPES.podRestarted]: 7,
  [DETAIL_TYPES.podRestartSkipped]: 7,
  [DETAIL_TYPES.incidentEscalated]: 8,
  [DETAIL_TYPES.incidentResolved]: 9,
};

/** What the order reads of an event: its time and its detail-type. */
export interface Stamped {
  time: string;
  detailType: string;
}

/**
 * Orders pipeline events as on-call should read them in one Slack thread:
 * by time, then by the step of the incident. Unknown detail-types and
 * unreadable times go last, in their original order (the sort is stable).
 *
 * @example
 * ```ts
 * events.sort(incidentOrder); // Prune Completed before Volume Roll Started
 * ```
 */
export function incidentOrder(a: Stamped, b: Stamped): number {
  const at = (s: Stamped) => {
    const t = Date.parse(s.time);
    return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
  };
  const rank = (s: Stamped) =>
    STEP_RANK[s.detailType] ?? Number.POSITIVE_INFINITY;
  const byTime = at(a) - at(b);
  if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
  const byStep = rank(a) - rank(b);
  return Number.isNaN(byStep) ? 0 : byStep;
}
