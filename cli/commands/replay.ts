import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DEFAULT_FLEET, FleetFile } from '../local/fleet.ts';
import { readEvents } from '../local/input.ts';
import { renderJson, renderTimeline } from '../local/output.ts';
import { runLocal } from '../local/runner.ts';
import { replayArchive } from '../replay/archive.ts';

export const REPLAY_HELP = `pullmedic replay --archive NAME --from TIME --to TIME [--live]
pullmedic replay --events FILE [--fleet FILE] [--json]

Replays an incident for its postmortem. Replayed events carry EventBridge's
replay-name, and the functions then decide in dry-run: every decision is
recorded and reported ("dryRun": true), nothing touches a node, a launch
template or a node group.

From the bus archive in AWS (credentials and region from the environment):
  --archive NAME  the archive (serverless.yml names it pullmedic-<stage>-archive)
  --from TIME     start of the window, ISO 8601 (e.g. 2026-11-20T09:30:00Z)
  --to TIME       end of the window, ISO 8601
  --live          act for real: the replay's name starts with "pullmedic-live-",
                  and the functions act if the control parameter is live.
                  Think twice.
  Shows the replay's progress until it ends.

Locally, from events exported from anywhere (kubectl get events -o json, the
archive, a bug report), through the local runtime and moto's archive:
  --events FILE   JSON Lines, or a JSON array / List of core/v1 Events
  --fleet FILE    the cluster and nodes (see README)
  --json          print every event that crossed the bus, one JSON line each,
                  then each notification on-call would have got, then
                  each dead letter ({"deadLetter":{"queue","reason","body"}})
`;

const time = (name: string, raw: string | undefined): Date => {
  const t = raw === undefined ? Number.NaN : Date.parse(raw);
  if (!Number.isFinite(t))
    throw new Error(`--${name} must be an ISO 8601 time, got "${raw ?? ''}"`);
  return new Date(t);
};

/** `pullmedic replay`: returns the process exit code. */
export async function replayCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      archive: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      live: { type: 'boolean', default: false },
      events: { type: 'string' },
      fleet: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(REPLAY_HELP);
    return 0;
  }
  if (values.events && values.archive) {
    process.stderr.write(
      'pullmedic replay: give --archive or --events, not both\n'
    );
    return 2;
  }
  if (values.events)
    return replayLocally(values.events, values.fleet, values.json);
  if (!values.archive) {
    process.stderr.write(
      `pullmedic replay: --archive NAME or --events FILE is required\n\n${REPLAY_HELP}`
    );
    return 2;
  }
  const from = time('from', values.from);
  const to = time('to', values.to);
  if (to <= from) throw new Error('--to must be after --from');
  const { name, final } = await replayArchive(
    new EventBridgeClient({}),
    { archive: values.archive, from, to, live: values.live },
    (p) =>
      process.stderr.write(
        `pullmedic replay: ${p.state}${p.percent !== undefined ? ` ${p.percent}%` : ''}${p.reason ? ` (${p.reason})` : ''}\n`
      )
  );
  process.stdout.write(
    `replay ${name} ended ${final.state}${values.live ? ' (live)' : ' (dry-run: decisions only)'}\n`
  );
  return final.state === 'COMPLETED' ? 0 : 1;
}

async function replayLocally(
  events: string,
  fleetPath: string | undefined,
  json: boolean
): Promise<number> {
  let fleet = DEFAULT_FLEET;
  if (fleetPath) {
    const parsed = FleetFile.safeParse(
      JSON.parse(await readFile(fleetPath, 'utf8'))
    );
    if (!parsed.success) {
      throw new Error(
        `${fleetPath} is not a valid fleet file: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`
      );
    }
    fleet = parsed.data;
  }
  const result = await runLocal({
    items: await readEvents(events),
    fleet,
    replay: true,
    // A replay never prunes, so it never needs the lab.
    node: 'simulated',
    onProgress: (text) => process.stderr.write(`pullmedic: ${text}\n`),
  });
  if (json) {
    for (const n of result.notes)
      process.stderr.write(`[${n.who}] ${n.text}\n`);
    process.stdout.write(`${renderJson(result)}\n`);
  } else {
    process.stdout.write(
      `${renderTimeline(result, `${events} (replayed, dry-run)`)}\n`
    );
  }
  return 0;
}
