/**
 * The steps an incident goes through, in the one place that says which
 * step may follow which and how long each may take before the reconciler
 * looks at it. The store moves an incident only along these arrows, in one
 * conditional write, so two requests cannot both move it, and a retry of
 * the request that moved it carries on instead of stopping.
 *
 * ```
 * opened → prune-claimed → prune-sent → recovering ─────────────┐
 *                                    └→ roll-requested → roll-starting → roll-started → roll-completed ─┤
 *                                           └→ roll-proposed ─┘                                         │
 *                       any step → escalated (a person is told) ──────────────────────────────→ resolved
 * ```
 */
export const INCIDENT_STEPS = [
  /** Opened; its prune not yet claimed. */
  'opened',
  /** The prune is claimed and its intent written; SendCommand may not have returned yet. */
  'prune-claimed',
  /** The command is sent; its result is due by the command's timeouts. */
  'prune-sent',
  /** The prune left enough room: the stuck pod should start soon. */
  'recovering',
  /** The prune was not enough: a bigger volume is asked for. */
  'roll-requested',
  /** Approval mode: a person is asked to approve the roll. */
  'roll-proposed',
  /** roll-volume holds the roll: a template version and a rollout are being made. */
  'roll-starting',
  /** The rollout runs; watch-rollout follows it. */
  'roll-started',
  /** The rollout ended: the pod should start soon on a replaced node. */
  'roll-completed',
  /** A person is told and acts; pullmedic waits for the proof of a fix. */
  'escalated',
  /** A pull or start of the pod proved the node healed. */
  'resolved',
] as const;

export type IncidentStep = (typeof INCIDENT_STEPS)[number];

/**
 * Which step may follow which. `escalated` may lead to `roll-starting`
 * only through a person's approval (core/roll-volume.ts checks that).
 */
export const NEXT_STEPS: Readonly<
  Record<IncidentStep, readonly IncidentStep[]>
> = {
  opened: ['prune-claimed', 'escalated', 'resolved'],
  'prune-claimed': ['prune-sent', 'escalated', 'resolved'],
  'prune-sent': ['recovering', 'roll-requested', 'escalated', 'resolved'],
  recovering: ['escalated', 'resolved'],
  'roll-requested': ['roll-proposed', 'roll-starting', 'escalated', 'resolved'],
  'roll-proposed': ['roll-starting', 'escalated', 'resolved'],
  // Back to roll-requested: the group's lock is another incident's, and
  // this one waits for that rollout.
  'roll-starting': ['roll-started', 'roll-requested', 'escalated', 'resolved'],
  'roll-started': ['roll-completed', 'escalated', 'resolved'],
  'roll-completed': ['escalated', 'resolved'],
  escalated: ['roll-starting', 'resolved'],
  resolved: [],
};

/**
 * The steps `to` may be reached from.
 *
 * @example
 * ```ts
 * stepsBefore('prune-sent'); // ['prune-claimed']
 * ```
 */
export const stepsBefore = (to: IncidentStep): IncidentStep[] =>
  INCIDENT_STEPS.filter((from) => NEXT_STEPS[from].includes(to));

/**
 * How long each step may last before the reconciler looks (seconds).
 * Read once in the composition root (PULLMEDIC_DEADLINE_* settings).
 */
export interface Deadlines {
  /** opened, prune-claimed: the prune should be sent by then. */
  sendSeconds: number;
  /** prune-sent: the result, past SSM's own delivery and execution timeouts. */
  pruneResultSeconds: number;
  /** recovering, roll-completed: the pod should have started by then. */
  recoverySeconds: number;
  /** roll-requested, roll-starting: roll-volume should have started the roll. */
  rollStartSeconds: number;
  /** roll-started: the next look at the rollout (watch-rollout pushes it on each look). */
  watchSeconds: number;
  /** A prune that never ran is looked at once more after this. */
  lookAgainSeconds: number;
}

export const DEFAULT_DEADLINES: Deadlines = {
  sendSeconds: 300,
  // SendCommand's delivery timeout (600 s) + the documents' execution
  // timeout (900 s, infra/ssm/*.yml) + two minutes for the status to land.
  pruneResultSeconds: 1620,
  // The kubelet's image back-off tops out at five minutes: three of them.
  recoverySeconds: 900,
  rollStartSeconds: 900,
  // watch-rollout looks every five minutes: three missed looks.
  watchSeconds: 900,
  lookAgainSeconds: 60,
};

/** Seconds a step may last, or null where a person is waited for. */
const SECONDS: Record<IncidentStep, (d: Deadlines) => number | null> = {
  opened: (d) => d.sendSeconds,
  'prune-claimed': (d) => d.sendSeconds,
  'prune-sent': (d) => d.pruneResultSeconds,
  recovering: (d) => d.recoverySeconds,
  'roll-requested': (d) => d.rollStartSeconds,
  'roll-proposed': () => null,
  'roll-starting': (d) => d.rollStartSeconds,
  'roll-started': (d) => d.watchSeconds,
  'roll-completed': (d) => d.recoverySeconds,
  escalated: () => null,
  resolved: () => null,
};

/**
 * When the reconciler looks at an incident that entered `step` at `now`, if
 * nothing moved it; null for the steps that wait for a person (on-call was
 * told) or have ended. Only live incidents have deadlines: dry-run and
 * replays act on nothing and wait for nothing.
 *
 * @example
 * ```ts
 * dueAfter('prune-sent', new Date('2026-11-20T09:41:00Z'), DEFAULT_DEADLINES, 'live');
 * // '2026-11-20T10:03:00.000Z'
 * ```
 */
export function dueAfter(
  step: IncidentStep,
  now: Date,
  deadlines: Deadlines,
  scope: string
): string | null {
  const seconds = SECONDS[step](deadlines);
  if (seconds === null || scope !== 'live') return null;
  return new Date(now.getTime() + seconds * 1000).toISOString();
}

/** What an incident waits for at each step, in words for people. */
export const WAITING_FOR: Record<IncidentStep, string> = {
  opened: 'its prune to be sent',
  'prune-claimed': 'SendCommand to return the prune command',
  'prune-sent': "the prune's result",
  recovering: 'the stuck pod to pull and start',
  'roll-requested': 'roll-volume to start the roll',
  'roll-proposed': "a person's approval of the roll",
  'roll-starting': 'the template version and the rollout',
  'roll-started': 'the rollout to end',
  'roll-completed': 'the pod to start on a replaced node',
  escalated: 'a person, and then a successful pull',
  resolved: 'nothing',
};
