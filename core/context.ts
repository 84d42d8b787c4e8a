import type { NodeRef } from '../events/schemas.ts';
import type { ControlMode, ControlSwitch, IncidentKey } from './ports.ts';

/**
 * How a decision runs: acting, or deciding without acting.
 *
 * - Replayed events carry `replay-name`; they never act unless the replay
 *   was started live. The decisions they lead to carry the replay's name
 *   in their detail (`replayName`), and the next function runs them as the
 *   same replay: EventBridge puts `replay-name` only on the replayed events
 *   themselves, not on what functions emit from them.
 * - A decision taken in dry-run (`dryRun: true` in its detail) stays
 *   dry-run downstream, whatever the switch says by then.
 * - The operator's control parameter turns everything to dry-run or off.
 *
 * @example
 * ```ts
 * const run = await runModeOf(envelope, control);
 * if (run.mode === 'off') return [];
 * ```
 */
export interface RunMode {
  mode: ControlMode;
  dryRun: boolean;
  replayName?: string;
  /** Incident scope: live state, dry-run's own, or the replay's own. */
  scope: string;
  /**
   * The EventBridge id of the event being run: it goes on the incident's
   * timeline, and it is who holds a step the run moves the incident to (a
   * redelivery of the same event carries the same id, and carries on).
   */
  eventId: string;
}

/**
 * How a live replay's name starts (`pullmedic replay --live` names it so);
 * a name that merely contains "-live-" is not one.
 */
export const LIVE_REPLAY_PREFIX = 'pullmedic-live-';

export async function runModeOf(
  envelope: { 'replay-name'?: string; detail?: unknown; id: string },
  control: ControlSwitch
): Promise<RunMode> {
  const mode = await control.mode();
  const upstream = (envelope.detail ?? {}) as {
    dryRun?: unknown;
    replayName?: unknown;
  };
  const replayName =
    envelope['replay-name'] ??
    (typeof upstream.replayName === 'string' ? upstream.replayName : undefined);
  const run =
    replayName === undefined
      ? liveRun(mode, upstream.dryRun === true)
      : replayRun(mode, replayName, upstream.dryRun === true);
  return { ...run, eventId: envelope.id };
}

/**
 * Dry-run keeps its own incidents, so switching to live later still
 * prunes: a decision taken without acting must not use up the live one.
 */
const liveRun = (
  mode: ControlMode,
  decidedDry: boolean
): Omit<RunMode, 'eventId'> => {
  const dryRun = mode !== 'live' || decidedDry;
  return {
    mode: mode === 'off' ? 'off' : dryRun ? 'dry-run' : 'live',
    dryRun,
    scope: dryRun ? 'dry-run' : 'live',
  };
};

/** A replay acts only when started live, and then in the live scope. */
const replayRun = (
  mode: ControlMode,
  replayName: string,
  decidedDry: boolean
): Omit<RunMode, 'eventId'> => {
  const live =
    replayName.startsWith(LIVE_REPLAY_PREFIX) && mode === 'live' && !decidedDry;
  return {
    mode: mode === 'off' ? 'off' : live ? 'live' : 'dry-run',
    dryRun: !live,
    replayName,
    scope: live ? 'live' : `replay:${replayName}`,
  };
};

/**
 * The incident key of a node, in the run's scope.
 *
 * @example
 * ```ts
 * incidentKey('prod', 'ip-10-0-1-149.ec2.internal', run);
 * ```
 */
export const incidentKey = (
  cluster: string,
  node: string,
  run: Pick<RunMode, 'scope'>
): IncidentKey => ({ cluster, node, scope: run.scope });

/**
 * A readable, unique incident id: cluster, node, opening time.
 *
 * @example
 * ```ts
 * incidentIdOf('prod', 'ip-10-0-1-149.ec2.internal', '2026-11-20T09:40:59Z');
 * // 'prod/ip-10-0-1-149.ec2.internal/20261120T094059Z'
 * ```
 */
export const incidentIdOf = (
  cluster: string,
  node: string,
  openedAt: string
): string =>
  `${cluster}/${node}/${openedAt.replace(/[-:]/g, '').replace(/\.\d+/, '')}`;

/** The fields every decision event starts with. */
export interface DecisionBase {
  cluster: string;
  node: NodeRef;
  dryRun: boolean;
  replayName?: string;
}

/**
 * The common head of a decision event for this node and run.
 *
 * @example
 * ```ts
 * const base = decisionBase('prod', { name: 'ip-10-0-1-149.ec2.internal' }, run);
 * ```
 */
export const decisionBase = (
  cluster: string,
  node: NodeRef,
  run: Pick<RunMode, 'dryRun' | 'replayName'>
): DecisionBase => ({
  cluster,
  node,
  dryRun: run.dryRun,
  replayName: run.replayName,
});
