import { DescribeLaunchTemplatesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DETAIL_TYPES } from '../../events/detail-types.ts';
import type { CallSite } from './aws-calls.ts';
import type { FleetFile } from './fleet.ts';
import type { InputItem } from './input.ts';
import type { LocalRunResult, LocalSession, RunFaults } from './runner.ts';

/**
 * The faults a sweep puts one call through: throttled once, a 5xx once,
 * AccessDenied from that call on (a role that lacks the action fails every
 * try), and an SSM status-change event that never arrives.
 */
export type FaultKind =
  | 'throttled'
  | 'server-error'
  | 'access-denied'
  | 'dropped';

export type SweepOutcome = 'healed' | 'escalated' | 'stranded';

/** One run of a sweep: which call failed how. */
export interface SweepCase {
  /** `fn service:Action #n`, or `SSM status event #n`. */
  call: string;
  fault: FaultKind;
  faults: RunFaults;
}

/** What one run of a sweep came to. */
export interface SweepRun {
  call: string;
  fault: FaultKind;
  outcome: SweepOutcome;
  /** SSM commands sent. */
  prunes: number;
  /** Launch template versions created. */
  templateVersions: number;
  /** Node group updates and instance refreshes started. */
  rollouts: number;
  /** Messages on-call got (alarms included). */
  notifications: number;
  /** What broke a promise even though the run ended (empty when none). */
  problems: string[];
  seconds: number;
}

/**
 * An error shaped as the AWS SDK shapes the service's answer: its name,
 * its fault side and its HTTP status, which is all the pipeline may look at.
 *
 * @example
 * ```ts
 * sdkError('throttled', 'ec2:DescribeInstances').name; // 'RequestLimitExceeded'
 * ```
 */
export function sdkError(
  kind: Exclude<FaultKind, 'dropped'>,
  action: string
): Error {
  const service = action.split(':')[0] ?? '';
  const [name, status, fault, message] =
    kind === 'throttled'
      ? [
          service === 'ec2' ? 'RequestLimitExceeded' : 'ThrottlingException',
          400,
          'client',
          'Rate exceeded',
        ]
      : kind === 'server-error'
        ? [
            service === 'dynamodb'
              ? 'InternalServerError'
              : 'ServiceUnavailable',
            service === 'dynamodb' ? 500 : 503,
            'server',
            'Service is unavailable, please try again later',
          ]
        : [
            service === 'ec2'
              ? 'UnauthorizedOperation'
              : 'AccessDeniedException',
            403,
            'client',
            `User: arn:aws:sts::123456789012:assumed-role/pullmedic-local/fn is not authorized to perform: ${action}`,
          ];
  return Object.assign(new Error(`${message} (fault injected by the sweep)`), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status, attempts: 1 },
    ...(kind === 'throttled' ? { $retryable: { throttling: true } } : {}),
  });
}

const sameSite = (a: CallSite, b: CallSite) =>
  a.fn === b.fn && a.action === b.action && a.ordinal === b.ordinal;

const nameOf = (s: CallSite) => `${s.fn} ${s.action} #${s.ordinal}`;

/**
 * The runs of a sweep, from a clean run's calls: each call site throttled
 * once, failed with a 5xx once, and denied from that call on; then each
 * status event dropped. `quick` puts each call site through one fault
 * only (the three in turn) and still drops each status event: every call
 * site once, in a third of the time.
 *
 * @example
 * ```ts
 * const cases = planSweep(clean.callSites, clean.gaps.statusEvents);
 * ```
 */
export function planSweep(
  sites: readonly CallSite[],
  statusEvents: number,
  options: { quick?: boolean } = {}
): SweepCase[] {
  const kinds: Exclude<FaultKind, 'dropped'>[] = [
    'throttled',
    'server-error',
    'access-denied',
  ];
  const cases: SweepCase[] = [];
  sites.forEach((site, i) => {
    const chosen = options.quick ? [kinds[i % kinds.length]] : kinds;
    for (const kind of chosen) {
      if (kind === undefined) continue;
      cases.push({
        call: nameOf(site),
        fault: kind,
        faults: faultsAt(site, kind),
      });
    }
  });
  for (let n = 1; n <= statusEvents; n++) {
    cases.push({
      call: `SSM status event #${n}`,
      fault: 'dropped',
      faults: { dropStatusEvent: (k) => k === n },
    });
  }
  return cases;
}

function faultsAt(
  site: CallSite,
  kind: Exclude<FaultKind, 'dropped'>
): RunFaults {
  if (kind === 'access-denied') {
    return {
      call: (c) =>
        c.fn === site.fn &&
        c.action === site.action &&
        c.ordinal >= site.ordinal
          ? sdkError(kind, c.action)
          : undefined,
    };
  }
  return {
    call: (c) => (sameSite(c, site) ? sdkError(kind, c.action) : undefined),
  };
}

/** What a notification is about: its detail-type, or an alarm. */
const aboutOf = (n: LocalRunResult['notifications'][number]) =>
  n.subject?.startsWith('ALARM:') ? 'alarm' : (n.attributes.detailType ?? '');

/** Notifications that tell on-call an incident needs a person. */
const TELLS_ONCALL = new Set<string>([
  'alarm',
  DETAIL_TYPES.incidentEscalated,
  DETAIL_TYPES.volumeRollProposed,
]);

/**
 * Judges one run: healed when every incident the clean run resolved was
 * resolved; escalated when not, and on-call was told (an escalation, a
 * proposal that waits for a person, or an alarm); stranded otherwise. The
 * promises a healed run may still break are listed as problems: more than
 * one prune per incident or one rollout per node group, an incident
 * resolved twice, a step posted twice, a dead letter without a reason or
 * without an alarm.
 *
 * @example
 * ```ts
 * const run = await judgeRun(result, clean);
 * ```
 */
export async function judgeRun(
  result: LocalRunResult,
  clean: { resolved: number }
): Promise<Omit<SweepRun, 'call' | 'fault' | 'seconds'>> {
  const ofType = (type: string) =>
    result.busEvents.filter((e) => e['detail-type'] === type);
  const incidents = new Set(
    ofType(DETAIL_TYPES.incidentOpened).map((e) => String(e.detail.incidentId))
  );
  const resolvedIds = ofType(DETAIL_TYPES.incidentResolved).map((e) =>
    String(e.detail.incidentId)
  );
  const resolved = new Set(resolvedIds);
  const told = result.notifications.some((n) => TELLS_ONCALL.has(aboutOf(n)));
  const counts = await actionsOf(result);
  const problems: string[] = [];
  const groups = new Set(result.fleet.nodes.map((n) => n.nodegroup.name));
  if (counts.prunes > Math.max(incidents.size, 1)) {
    problems.push(`${counts.prunes} prunes for ${incidents.size} incident(s)`);
  }
  if (counts.rollouts > groups.size) {
    problems.push(
      `${counts.rollouts} rollouts of ${groups.size} node group(s)`
    );
  }
  if (counts.templateVersions > groups.size) {
    problems.push(
      `${counts.templateVersions} template versions for ${groups.size} node group(s)`
    );
  }
  if (resolvedIds.length > resolved.size) {
    problems.push(`an incident resolved ${resolvedIds.length} times`);
  }
  problems.push(...duplicatePosts(result));
  for (const d of result.deadLetters) {
    if (!d.reason)
      problems.push(`a dead letter of ${d.queue} without a reason`);
  }
  const functionDeadLetters = result.deadLetters.filter(
    (d) => d.queue !== 'forwarder'
  );
  if (functionDeadLetters.length > 0 && result.alarms.length === 0) {
    problems.push('dead letters, and no alarm told on-call');
  }
  const healed = resolved.size >= clean.resolved && clean.resolved > 0;
  return {
    outcome: healed ? 'healed' : told ? 'escalated' : 'stranded',
    ...counts,
    notifications: result.notifications.length,
    problems,
  };
}

/**
 * Steps on-call saw twice: the same detail-type of the same incident, where
 * the pipeline emits it once (classifications repeat per pod, and looks at
 * a rollout are not posted).
 */
function duplicatePosts(result: LocalRunResult): string[] {
  const once = new Set<string>([
    DETAIL_TYPES.incidentOpened,
    DETAIL_TYPES.nodePruneRequested,
    DETAIL_TYPES.nodePruneCompleted,
    DETAIL_TYPES.volumeRollStarted,
    DETAIL_TYPES.volumeRollCompleted,
    DETAIL_TYPES.incidentResolved,
  ]);
  const seen = new Map<string, number>();
  for (const n of result.notifications) {
    const about = aboutOf(n);
    if (!once.has(about)) continue;
    const thread = threadOf(n.message);
    const key = `${about} ${thread}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen]
    .filter(([, n]) => n > 1)
    .map(([key, n]) => `${key} posted ${n} times`);
}

/** The Slack thread of a notification (Chatbot's metadata.threadId). */
const threadOf = (message: string): string => {
  try {
    return String(
      (JSON.parse(message) as { metadata?: { threadId?: string } }).metadata
        ?.threadId ?? ''
    );
  } catch {
    return '';
  }
};

/** The actions a run took, as the emulator and its stand-ins recorded them. */
async function actionsOf(result: LocalRunResult) {
  const config = {
    endpoint: result.endpoint,
    region: result.fleet.region,
    maxAttempts: 1,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const ssm = new SSMClient(config);
  const ec2 = new EC2Client(config);
  try {
    const commands = await ssm.send(new ListCommandsCommand({}));
    const templates = await ec2.send(new DescribeLaunchTemplatesCommand({}));
    return {
      prunes: commands.Commands?.length ?? 0,
      // Each template the fleet made starts at version 1.
      templateVersions: (templates.LaunchTemplates ?? []).reduce(
        (sum, t) => sum + Math.max(0, (t.LatestVersionNumber ?? 1) - 1),
        0
      ),
      rollouts:
        result.gaps.nodegroupUpdates.length +
        result.gaps.instanceRefreshes.length,
    };
  } finally {
    ssm.destroy();
    ec2.destroy();
  }
}

/** A whole sweep's counts. */
export interface SweepSummary {
  runs: number;
  healed: number;
  escalated: number;
  stranded: number;
  /** Runs that ended but broke a promise on the way. */
  withProblems: number;
  maxPrunes: number;
  maxRollouts: number;
  maxTemplateVersions: number;
  seconds: number;
}

export function summarise(
  runs: readonly SweepRun[],
  seconds: number
): SweepSummary {
  const count = (o: SweepOutcome) => runs.filter((r) => r.outcome === o).length;
  const max = (f: (r: SweepRun) => number) => Math.max(0, ...runs.map(f));
  return {
    runs: runs.length,
    healed: count('healed'),
    escalated: count('escalated'),
    stranded: count('stranded'),
    withProblems: runs.filter((r) => r.problems.length > 0).length,
    maxPrunes: max((r) => r.prunes),
    maxRollouts: max((r) => r.rollouts),
    maxTemplateVersions: max((r) => r.templateVersions),
    seconds,
  };
}

export interface SweepOptions {
  /**
   * The local AWS the runs go on: one is enough; each more runs cases in
   * parallel on its own emulator (moto serves one request at a time).
   */
  sessions: readonly LocalSession[];
  items: InputItem[];
  quick?: boolean;
  /** Only the cases whose call contains this text. */
  only?: string;
  onRun?: (run: SweepRun, index: number, total: number) => void;
  progress?: (text: string) => void;
}

/**
 * The fault sweep: a clean run lists every AWS call the pipeline makes on
 * the way, then one run per case, each on an emulator reset to the start,
 * the cases shared out among the sessions.
 *
 * @example
 * ```ts
 * const { runs, summary } = await sweep({ sessions: [session], items });
 * ```
 */
export async function sweep(options: SweepOptions): Promise<{
  clean: SweepRun;
  /** The clean run's calls, and the status events it got. */
  calls: CallSite[];
  statusEvents: number;
  runs: SweepRun[];
  summary: SweepSummary;
  fleet: FleetFile;
}> {
  const { sessions, items } = options;
  const first = sessions[0];
  if (first === undefined) throw new Error('a sweep needs a session');
  const progress = options.progress ?? (() => {});
  const started = Date.now();
  progress('a clean run, to list the calls …');
  const cleanRun = await timed(() => first.run({ items }));
  const resolved = new Set(
    cleanRun.result.busEvents
      .filter((e) => e['detail-type'] === DETAIL_TYPES.incidentResolved)
      .map((e) => String(e.detail.incidentId))
  ).size;
  const clean: SweepRun = {
    call: '(none)',
    fault: 'throttled',
    ...(await judgeRun(cleanRun.result, { resolved })),
    seconds: cleanRun.seconds,
  };
  if (clean.outcome !== 'healed') {
    throw new Error(
      `the clean run did not heal the incident (${clean.outcome}): a sweep needs a run that heals`
    );
  }
  const cases = planSweep(
    cleanRun.result.callSites,
    cleanRun.result.gaps.statusEvents,
    { quick: options.quick ?? false }
  ).filter((c) => options.only === undefined || c.call.includes(options.only));
  progress(
    `${cases.length} runs over ${cleanRun.result.callSites.length} calls and ${cleanRun.result.gaps.statusEvents} status event(s), on ${sessions.length} emulator(s) …`
  );
  const runs: SweepRun[] = new Array(cases.length);
  let next = 0;
  let done = 0;
  const worker = async (session: LocalSession) => {
    for (let i = next++; i < cases.length; i = next++) {
      const c = cases[i] as SweepCase;
      await session.reset();
      const { result, seconds } = await timed(() =>
        session.run({ items }, c.faults)
      );
      const run: SweepRun = {
        call: c.call,
        fault: c.fault,
        ...(await judgeRun(result, { resolved })),
        seconds,
      };
      runs[i] = run;
      options.onRun?.(run, done++, cases.length);
    }
  };
  await Promise.all(sessions.map(worker));
  const seconds = (Date.now() - started) / 1000;
  return {
    clean,
    calls: cleanRun.result.callSites,
    statusEvents: cleanRun.result.gaps.statusEvents,
    runs,
    summary: summarise(runs, seconds),
    fleet: first.fleet,
  };
}

async function timed<T>(work: () => Promise<T>) {
  const start = Date.now();
  const result = await work();
  return { result, seconds: (Date.now() - start) / 1000 };
}
