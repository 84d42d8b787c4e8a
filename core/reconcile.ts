import { DETAIL_TYPES } from '../events/detail-types.ts';
import type {
  VolumeRollRequestedDetail,
  VolumeRollStartedDetail,
} from '../events/schemas.ts';
import { decisionBase, type RunMode } from './context.ts';
import { messageOf } from './errors.ts';
import { escalation } from './escalation.ts';
import { dueAfter, WAITING_FOR } from './incident-steps.ts';
import type {
  Emitted,
  EventPublisher,
  IncidentRecord,
  Move,
  RollLocks,
} from './ports.ts';
import { concludePrune, type PruneResultDeps } from './prune-result.ts';
import { type WatchRolloutDeps, watchRollout } from './watch-rollout.ts';

export interface ReconcileDeps extends PruneResultDeps, WatchRolloutDeps {
  locks: RollLocks;
  publisher: EventPublisher;
  /** watch-rollout's limit of looks, which the reconciler keeps to. */
  maxWatchLooks: number;
}

/** What one pass did with each incident past its deadline. */
export interface ReconcileReport {
  looked: number;
  /** incident id → what was done. */
  driven: { incidentId: string; step: string; action: string }[];
  failed: { incidentId: string; error: string }[];
}

/**
 * The level-triggered backstop beside the event-driven steps: reads the
 * live incidents whose deadline passed (a query of the sparse index of
 * open incidents) and drives each on: a prune whose result never came is
 * read with GetCommandInvocation and concluded exactly as prune-result
 * would; a prune claimed but not recorded is looked for by its intent; a
 * lost roll request is asked for again once; a started roll nobody watches
 * is watched; anything it cannot drive gets one escalation with the
 * incident's timeline. Events are best effort (SSM's status changes are);
 * this is not. One incident's failure never stops the others.
 *
 * What a pass decides is written into the incident (an outbox) in the same
 * write that moves it, then published, then cleared: a pass that dies
 * between the two is finished by the next.
 *
 * @example
 * ```ts
 * const report = await reconcile(new Date(), run, deps, 25);
 * ```
 */
export async function reconcile(
  now: Date,
  run: RunMode,
  deps: ReconcileDeps,
  limit: number
): Promise<ReconcileReport> {
  const report: ReconcileReport = { looked: 0, driven: [], failed: [] };
  // Dry-run and the kill switch act on nothing live: the incidents stay
  // due, and are driven when pullmedic runs live again.
  if (run.mode !== 'live' || run.dryRun) return report;
  const due = await deps.incidents.due(now.toISOString(), limit);
  report.looked = due.length;
  for (const incident of due) {
    try {
      const action = await drive(incident, now, run, deps);
      report.driven.push({
        incidentId: incident.incidentId,
        step: incident.step,
        action,
      });
    } catch (err) {
      report.failed.push({
        incidentId: incident.incidentId,
        error: messageOf(err),
      });
    }
  }
  return report;
}

/** One incident past its deadline: what it waits for decides what to do. */
async function drive(
  incident: IncidentRecord,
  now: Date,
  run: RunMode,
  deps: ReconcileDeps
): Promise<string> {
  const { outbox } = incident;
  if (outbox?.length) return flush(incident, outbox, deps);
  // The reconciler's mark for this look: a pass that dies and runs again
  // for the same deadline holds the same mark (and carries on).
  const holder = `reconcile@${incident.due}`;
  const as: RunMode = { ...run, eventId: holder };
  const ctx: Ctx = { incident, now, as, holder, deps };
  switch (incident.step) {
    case 'opened':
    case 'prune-claimed':
      return unsent(ctx);
    case 'prune-sent':
      return unanswered(ctx);
    case 'roll-requested':
      return rollNotStarted(ctx);
    case 'roll-starting':
      return rollStuck(ctx);
    case 'roll-started':
      return unwatched(ctx);
    default:
      return notRecovered(ctx);
  }
}

interface Ctx {
  incident: IncidentRecord;
  now: Date;
  /** The run as the reconciler: live, with its mark as the event id. */
  as: RunMode;
  holder: string;
  deps: ReconcileDeps;
}

/** Publishes what a pass decided and could not say, then clears it. */
async function flush(
  incident: IncidentRecord,
  outbox: Emitted[],
  deps: ReconcileDeps
): Promise<string> {
  await deps.publisher.publish(outbox);
  await deps.incidents.progress(
    incident.key,
    incident.incidentId,
    incident.stepBy as string,
    {
      outbox: null,
      due: dueAfter(
        incident.step,
        deps.clock.now(),
        deps.policy.deadlines,
        incident.key.scope
      ),
    }
  );
  return 'published what an earlier pass decided';
}

/**
 * Moves the incident with what it decided in its outbox (due again soon,
 * so that a pass that dies before publishing is finished by the next),
 * publishes it, then clears the outbox and sets the step's own deadline.
 */
function outboxCommit(ctx: Ctx) {
  const { incident, deps, holder } = ctx;
  return async (
    move: Move,
    emitted: Parameters<EventPublisher['publish']>[0]
  ) => {
    const soon = new Date(
      deps.clock.now().getTime() + deps.policy.deadlines.lookAgainSeconds * 1000
    ).toISOString();
    const moved = await deps.incidents.advance(
      incident.key,
      incident.incidentId,
      {
        ...move,
        by: holder,
        due: soon,
        outbox: emitted,
      }
    );
    if (moved.outcome === 'refused') return false;
    await deps.publisher.publish(emitted);
    await deps.incidents.progress(incident.key, incident.incidentId, holder, {
      outbox: null,
      due: move.due,
    });
    return true;
  };
}

/** One escalation, with the incident's timeline, for what cannot be driven on. */
async function tell(
  ctx: Ctx,
  reason: string,
  nextSteps: string[]
): Promise<string> {
  const { incident, as, deps } = ctx;
  const base = decisionBase(incident.key.cluster, incident.node, as);
  const timeline = incident.timeline
    .slice(-8)
    .map((t) => `${t.at} ${t.step}: ${t.detail}`);
  const told = escalation(base, incident.incidentId, reason, [
    ...nextSteps,
    `Timeline so far: ${timeline.join(' | ')}`.slice(0, 2000),
  ]);
  const committed = await outboxCommit(ctx)(
    {
      to: 'escalated',
      by: ctx.holder,
      due: null,
      entry: {
        at: deps.clock.now().toISOString(),
        step: 'escalated',
        eventId: as.eventId,
        detail: `${reason} (the reconciler)`.slice(0, 1024),
      },
    },
    [told]
  );
  return committed ? `escalated: ${reason}` : 'moved on meanwhile';
}

/** How long since the incident last moved (its latest timeline entry). */
const since = (ctx: Ctx): string => {
  const entered = Math.max(
    Date.parse(ctx.incident.openedAt),
    ...ctx.incident.timeline.map((t) => Date.parse(t.at))
  );
  const minutes = Math.round((ctx.now.getTime() - entered) / 60000);
  return `${minutes} min`;
};

/** Opened or claimed, and the prune never recorded as sent. */
async function unsent(ctx: Ctx): Promise<string> {
  const { incident, deps, holder } = ctx;
  const intent = incident.prune;
  if (intent !== undefined) {
    // The request that claimed it may have sent it and died before it
    // could record it: the command carries the intent id.
    const commandId =
      intent.commandId ??
      (await deps.commands.findPrune(intent.instanceId, intent.intentId));
    if (commandId !== undefined) {
      const sentAt = intent.sentAt ?? intent.claimedAt;
      const moved = await deps.incidents.advance(
        incident.key,
        incident.incidentId,
        {
          to: 'prune-sent',
          by: holder,
          due: dueAfter(
            'prune-sent',
            new Date(sentAt),
            deps.policy.deadlines,
            incident.key.scope
          ),
          prune: { ...intent, commandId, sentAt },
          entry: {
            at: deps.clock.now().toISOString(),
            step: 'prune-requested',
            eventId: ctx.as.eventId,
            detail: `the reconciler found command ${commandId} sent by intent ${intent.intentId}`,
          },
        }
      );
      await deps.incidents.pointCommand(
        incident.key,
        incident.incidentId,
        commandId
      );
      // Moved here, or recorded meanwhile by the request that sent it:
      // either way the prune is found, and its result is awaited.
      return `found the prune command ${commandId}${moved.outcome === 'refused' ? ' (recorded meanwhile)' : ''}`;
    }
  }
  return tell(
    ctx,
    `pullmedic opened the incident ${since(ctx)} ago but its prune was never sent`,
    [
      `Prune ${incident.node.name} by hand: sudo crictl rmi --prune (Bottlerocket: from the admin container, sudo sheltie, then ctr -n k8s.io images prune --all).`,
      `Look for remediate's dead letters: npx pullmedic dlq list.`,
    ]
  );
}

/** The prune was sent and no result came: read it, and conclude it as prune-result would. */
async function unanswered(ctx: Ctx): Promise<string> {
  const { incident, deps } = ctx;
  const prune = incident.prune;
  if (prune?.commandId === undefined) return unsent(ctx);
  const outcome = await concludePrune(
    incident,
    { commandId: prune.commandId, instanceId: prune.instanceId },
    ctx.as,
    deps,
    outboxCommit(ctx)
  );
  if (outcome.kind === 'done') {
    return outcome.emitted.length
      ? `concluded the prune from GetCommandInvocation (${outcome.emitted.map((e) => e.detailType).join(', ')})`
      : 'concluded meanwhile';
  }
  // Still running past SSM's own timeouts: once more, then a person.
  const current = await deps.incidents.get(incident.key);
  const looks = current?.prune?.looks ?? 0;
  if (looks < 2 && current?.prune) {
    await deps.incidents.progress(
      incident.key,
      incident.incidentId,
      current.stepBy as string,
      {
        prune: { ...current.prune, looks: looks + 1 },
        due: new Date(ctx.now.getTime() + outcome.seconds * 1000).toISOString(),
      }
    );
    return 'the prune has no final status yet: looking again';
  }
  return tell(
    ctx,
    `the prune command ${prune.commandId} on ${prune.instanceId} has no final status ${since(ctx)} after it was sent`,
    [
      `Look at it: aws ssm get-command-invocation --command-id ${prune.commandId} --instance-id ${prune.instanceId}`,
      `Prune ${incident.node.name} by hand if it never ran.`,
    ]
  );
}

/** The roll was asked for and did not start: ask again once, then a person. */
async function rollNotStarted(ctx: Ctx): Promise<string> {
  const { incident, deps } = ctx;
  const roll = incident.roll;
  if (roll !== undefined && (roll.looks ?? 0) < 1) {
    const request: VolumeRollRequestedDetail = roll.request;
    await deps.publisher.publish([
      { detailType: DETAIL_TYPES.volumeRollRequested, detail: request },
    ]);
    await deps.incidents.progress(
      incident.key,
      incident.incidentId,
      incident.stepBy as string,
      {
        roll: { ...roll, looks: 1 },
        due: dueAfter(
          'roll-requested',
          ctx.now,
          deps.policy.deadlines,
          incident.key.scope
        ),
      }
    );
    return 'asked for the roll again';
  }
  return tell(
    ctx,
    `the volume roll of ${incident.node.name}'s node group was asked for ${since(ctx)} ago and has not started`,
    [
      roll
        ? `Grow the node group's volume to at least ${roll.request.minimumSizeGiB} GiB by hand (${roll.request.reason}).`
        : `Grow ${incident.node.name}'s node group volume by hand.`,
      'Look for roll-volume dead letters: npx pullmedic dlq list.',
    ]
  );
}

/** roll-volume claimed the roll and never finished starting it. */
async function rollStuck(ctx: Ctx): Promise<string> {
  const { incident, deps } = ctx;
  const roll = incident.roll;
  const lt = roll?.launchTemplate;
  // Nothing is rolling: the group's next incident may roll.
  if (roll?.groupKey !== undefined && roll.rollout === undefined) {
    await deps.locks.release(roll.groupKey, incident.incidentId, ctx.now);
  }
  return tell(
    ctx,
    `the volume roll of ${incident.node.name}'s node group did not finish starting`,
    [
      lt?.newVersion !== undefined
        ? `Launch template ${lt.id} has version ${lt.newVersion} from pullmedic: roll the group to it by hand, or leave it at version ${lt.oldVersion}.`
        : `No template version was made yet: grow the volume to ${roll?.request.minimumSizeGiB ?? deps.policy.minVolumeGiB} GiB or more by hand.`,
      roll?.rollout
        ? `A ${roll.rollout.kind} ${roll.rollout.id} was started: follow it to its end.`
        : 'No rollout was started.',
    ]
  );
}

/** A started roll nobody watches: look at it, and hand it back to watch-rollout. */
async function unwatched(ctx: Ctx): Promise<string> {
  const { incident, deps } = ctx;
  const started: VolumeRollStartedDetail | undefined = incident.roll?.started;
  if (started === undefined) return rollStuck(ctx);
  const looks = incident.roll?.looks ?? 0;
  const result = await watchRollout(
    started,
    looks,
    deps.maxWatchLooks,
    ctx.as,
    deps,
    outboxCommit(ctx)
  );
  if (result.kind === 'done') return 'watched the rollout to its end';
  // Still running: watch-rollout follows it again from here.
  await deps.publisher.publish([
    { detailType: DETAIL_TYPES.volumeRollStarted, detail: started },
  ]);
  return 'the rollout runs: handed back to watch-rollout';
}

/** The node has room (or new nodes) and the pod has not started. */
function notRecovered(ctx: Ctx): Promise<string> {
  const { incident } = ctx;
  const pod = incident.pod
    ? `${incident.pod.namespace}/${incident.pod.name}`
    : 'the stuck pod';
  const freed = incident.timeline.find((t) => t.step === 'prune-completed');
  return tell(
    ctx,
    `${incident.node.name} was ${incident.step === 'roll-completed' ? 'rolled to a bigger volume' : 'pruned'}, but ${pod} has not started ${since(ctx)} later (waiting for ${WAITING_FOR[incident.step]})`,
    [
      `Look at it: kubectl describe pod ${incident.pod ? `-n ${incident.pod.namespace} ${incident.pod.name}` : '<pod>'}`,
      `Restart it if it waits in ImagePullBackOff: kubectl delete pod ${incident.pod ? `-n ${incident.pod.namespace} ${incident.pod.name}` : '<pod>'}`,
      ...(freed ? [`The prune said: ${freed.detail}`] : []),
    ]
  );
}
