import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import {
  type SweepRun,
  type SweepSummary,
  sweep,
} from '../local/fault-sweep.ts';
import type { FleetFile } from '../local/fleet.ts';
import { readEvents } from '../local/input.ts';
import { LocalSession } from '../local/runner.ts';
import { FleetFileError, readFleet } from './fleet-option.ts';

const SEED = 'events/samples/seed-incident.jsonl';

export const FAULT_SWEEP_HELP = `pullmedic fault-sweep [--fleet FILE] [--events FILE] [--json] [--quick]
                      [--only TEXT]

Proves that an incident is never stranded. A clean run of the incident
through the local runtime lists every AWS call the pipeline makes on the
way (function, IAM action, and which call of it: "remediate
ssm:SendCommand #1"). Then the incident runs again once per call, with
that call failing:
  throttled       once (ThrottlingException, RequestLimitExceeded for EC2)
  server-error    once (a 5xx: ServiceUnavailable, InternalServerError)
  access-denied   on that call and every later try of it
and once per SSM status-change event, with that event dropped (EventBridge
delivers SSM's events best effort). Faults are injected in the SDK
clients' middleware: the real handlers and the real emulator (moto) run.
One emulator serves the whole sweep; its state is reset between runs, and
the reconciler runs as at each deadline once the pipeline is quiet.

Each run ends
  healed     the incident was resolved, as in the clean run
  escalated  not resolved, and on-call was told (an escalation, a roll
             proposal, or a CloudWatch alarm on a dead-letter queue)
  stranded   neither: the pipeline went quiet and nobody was told
and lists any promise it broke on the way (more than one prune per
incident, more than one rollout or template version per node group, an
incident resolved twice, a step posted twice, a dead letter with no reason
or no alarm). The exit code is 1 when a run is stranded or broke one.

  --fleet FILE    the fleet (see README); default: the seed's managed node
                  group. Samples: events/samples/fleets/*.json.
  --events FILE   the incident; default: ${SEED}.
  --json          one JSON object a line per run: {"call","fault","outcome",
                  "prunes","templateVersions","rollouts","notifications",
                  "problems","seconds"}, then {"summary":{…}}.
  --quick         each call once, with one of the three faults in turn
                  (every call site once; a third of the runs). npm test
                  runs this on the default fleet.
  --only TEXT     only the runs whose call contains TEXT ("roll-volume",
                  "ssm:SendCommand", "status event").
  --parallel N    emulators to run cases on at once (default: the number
                  of CPUs, at most 4; moto serves one request at a time).

Example:
  npx pullmedic fault-sweep --fleet events/samples/fleets/bottlerocket.json
`;

/** `pullmedic fault-sweep`: returns the process exit code. */
export async function faultSweepCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      fleet: { type: 'string' },
      events: { type: 'string', default: SEED },
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      parallel: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(FAULT_SWEEP_HELP);
    return 0;
  }
  let fleet: FleetFile;
  try {
    fleet = await readFleet(values.fleet);
  } catch (err) {
    if (!(err instanceof FleetFileError)) throw err;
    process.stderr.write(`pullmedic fault-sweep: ${err.message}\n`);
    return 2;
  }
  const parallel =
    values.parallel === undefined
      ? Math.min(4, availableParallelism())
      : Number(values.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 16) {
    process.stderr.write(
      'pullmedic fault-sweep: --parallel must be a whole number from 1 to 16\n'
    );
    return 2;
  }
  const items = await readEvents(values.events);
  const progress = (text: string) =>
    process.stderr.write(`pullmedic: ${text}\n`);
  progress(`starting ${parallel} local AWS emulator(s) …`);
  const sessions: LocalSession[] = [];
  try {
    for (let i = 0; i < parallel; i++) {
      sessions.push(
        await LocalSession.start({
          fleet,
          node: 'simulated',
          verbose: false,
          deferRules: false,
          progress: () => {},
        })
      );
    }
    if (!values.json) process.stdout.write(`${header()}\n`);
    const { clean, summary } = await sweep({
      sessions,
      items,
      quick: values.quick,
      ...(values.only !== undefined ? { only: values.only } : {}),
      progress,
      onRun: (run, i, total) => {
        process.stdout.write(
          `${values.json ? JSON.stringify(run) : line(run)}\n`
        );
        if (values.json || !process.stdout.isTTY) {
          process.stderr.write(
            `pullmedic: [${i + 1}/${total}] ${run.call} ${run.fault}: ${run.outcome} (${run.seconds.toFixed(1)} s)\n`
          );
        }
      },
    });
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ clean, summary })}\n`
        : `\n${renderSummary(clean, summary)}\n`
    );
    return summary.stranded > 0 || summary.withProblems > 0 ? 1 : 0;
  } finally {
    for (const session of sessions) {
      await session.stopNodes();
      await session.moto.stop();
    }
  }
}

const COLUMNS = [46, 14, 10, 7, 9, 9, 14] as const;
const row = (cells: string[]) =>
  cells
    .map((c, i) => c.padEnd(COLUMNS[i] ?? 0))
    .join(' ')
    .trimEnd();

const header = () =>
  row([
    'call',
    'fault',
    'outcome',
    'prunes',
    'versions',
    'rollouts',
    'notifications',
    'problems',
  ]);

const line = (r: SweepRun) =>
  row([
    r.call,
    r.fault,
    r.outcome,
    String(r.prunes),
    String(r.templateVersions),
    String(r.rollouts),
    String(r.notifications),
    r.problems.join('; '),
  ]);

function renderSummary(clean: SweepRun, s: SweepSummary): string {
  return [
    `clean run: ${clean.prunes} prune, ${clean.templateVersions} template version, ${clean.rollouts} rollout, ${clean.notifications} notifications`,
    `${s.runs} runs in ${Math.round(s.seconds)} s: ${s.healed} healed, ${s.escalated} escalated, ${s.stranded} stranded; ${s.withProblems} broke a promise`,
    `at most ${s.maxPrunes} prune(s), ${s.maxTemplateVersions} template version(s), ${s.maxRollouts} rollout(s) in a run`,
  ].join('\n');
}
