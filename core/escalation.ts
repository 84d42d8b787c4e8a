import { DETAIL_TYPES } from '../events/detail-types.ts';
import type { IncidentEscalatedDetail } from '../events/schemas.ts';
import type { DecisionBase, RunMode } from './context.ts';
import type { AwsCallError } from './errors.ts';
import type { Clock, Emitted, IncidentKey, IncidentStore } from './ports.ts';

/**
 * An `Incident Escalated` event: what failed and what a person must do.
 *
 * @example
 * ```ts
 * escalation(base, id, 'prune failed', ['Check the node']);
 * ```
 */
export function escalation(
  base: DecisionBase,
  incidentId: string | undefined,
  reason: string,
  nextSteps: string[]
): Emitted {
  const detail: IncidentEscalatedDetail = {
    ...base,
    ...(incidentId ? { incidentId } : {}),
    reason,
    nextSteps,
  };
  return { detailType: DETAIL_TYPES.incidentEscalated, detail };
}

/**
 * Tells on-call and stops waiting: the incident moves to `escalated` (off
 * the reconciler's index: a person acts now) with the escalation on its
 * timeline, in one write. An incident resolved or replaced meanwhile is
 * not escalated; a retry of the same request escalates again (the same
 * event, as at-least-once delivery allows).
 *
 * @example
 * ```ts
 * return [await escalate(incident, 'the prune could not be sent', steps, base, run, deps)];
 * ```
 */
export async function escalate(
  incident: { key: IncidentKey; incidentId: string },
  reason: string,
  nextSteps: string[],
  base: DecisionBase,
  run: Pick<RunMode, 'eventId'>,
  deps: { incidents: Pick<IncidentStore, 'advance'>; clock: Clock }
): Promise<Emitted[]> {
  const moved = await deps.incidents.advance(
    incident.key,
    incident.incidentId,
    {
      to: 'escalated',
      by: run.eventId,
      due: null,
      entry: timelineEntryOf(reason, nextSteps, deps.clock, run),
    }
  );
  // Resolved or replaced meanwhile: nobody needs to hear of it now.
  const current = moved.incident;
  if (
    moved.outcome === 'refused' &&
    (current?.incidentId !== incident.incidentId || current.status !== 'open')
  ) {
    return [];
  }
  return [escalation(base, incident.incidentId, reason, nextSteps)];
}

const timelineEntryOf = (
  reason: string,
  nextSteps: string[],
  clock: Clock,
  run: Pick<RunMode, 'eventId'>
) => ({
  at: clock.now().toISOString(),
  step: 'escalated',
  eventId: run.eventId,
  detail: [reason, ...nextSteps.slice(0, 1)].join('; next: ').slice(0, 1024),
});

/**
 * Writes escalations that do not end the incident's automation (the pause
 * image is gone, while the roll goes on) into its timeline: the record,
 * and the postmortem read from it, holds every step.
 *
 * @example
 * ```ts
 * await noteEscalations(emitted, incident, deps, run);
 * ```
 */
export async function noteEscalations(
  emitted: readonly Emitted[],
  incident: { key: IncidentKey; incidentId: string },
  deps: { incidents: Pick<IncidentStore, 'appendTimeline'>; clock: Clock },
  run: Pick<RunMode, 'eventId'>
): Promise<void> {
  for (const e of emitted) {
    if (e.detailType !== DETAIL_TYPES.incidentEscalated) continue;
    const d = e.detail;
    await deps.incidents.appendTimeline(
      incident.key,
      incident.incidentId,
      timelineEntryOf(d.reason, d.nextSteps, deps.clock, run)
    );
  }
}

/**
 * What on-call needs to hear of an AWS call that will never pass: which
 * call, the error, and what to do about that kind of error.
 *
 * @example
 * ```ts
 * const { reason, nextSteps } = failureOf(err, 'remediate', 'the node ip-10-0-1-149…');
 * ```
 */
export function failureOf(
  err: AwsCallError,
  functionName: string,
  subject: string
): { reason: string; nextSteps: string[] } {
  const reason = `${err.message} (${functionName}, for ${subject}); retrying cannot help`;
  if (/AccessDenied|Unauthorized|Forbidden/i.test(err.code)) {
    return {
      reason,
      nextSteps: [
        `Allow the call in the ${functionName} function's role (infra/serverless/iam.yml) or lift what denies it (an SCP, a permissions boundary, a key policy).`,
        `Then finish ${subject} by hand; pullmedic has stopped acting on it.`,
      ],
    };
  }
  if (/NotFound|DoesNotExist|NoSuch/i.test(err.code)) {
    return {
      reason,
      nextSteps: [
        `Check whether ${subject} still exists: the node may have been terminated or its template deleted since the failure was seen.`,
        'If it is gone, nothing is left to heal; if it was replaced, watch that its pods start.',
      ],
    };
  }
  return {
    reason,
    nextSteps: [
      `Read the error above, fix the cause, and finish ${subject} by hand.`,
    ],
  };
}
