import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbIncidentStore } from '../../adapters/aws/dynamodb-incident-store.ts';
import { PullmedicTable } from '../../adapters/aws/dynamodb-table.ts';
import { isNotFound } from '../../adapters/aws/errors.ts';
import type { IncidentRecord } from '../../core/ports.ts';
import { type InputItem, readEvents } from '../local/input.ts';
import { runLocal } from '../local/runner.ts';
import {
  IncidentNotFoundError,
  PostmortemError,
} from '../postmortem/errors.ts';
import { reportsFromBusEvents } from '../postmortem/from-bus-events.ts';
import { reportFromIncidentRecord } from '../postmortem/from-incident-record.ts';
import { renderMarkdown } from '../postmortem/markdown.ts';
import {
  type PostmortemReport,
  parseIncidentId,
  safeIncidentId,
} from '../postmortem/model.ts';
import { terminalSafe, terminalSummary } from '../postmortem/summary.ts';
import { renderSvg } from '../postmortem/svg.ts';

export const POSTMORTEM_HELP = `pullmedic postmortem INCIDENT [--table NAME] [--scope SCOPE] [--out DIR]
pullmedic postmortem --events FILE [--node simulated|lab|auto] [--out DIR]

Writes the postmortem of an incident: a Markdown report (summary, timeline,
the decisions pullmedic took and why, the disk before and after the prune)
and a timeline picture (SVG) next to it:
  DIR/postmortem-<incident id>.md and DIR/postmortem-<incident id>.svg
(the id's slashes become "_"), then prints a short summary.

From the table (what happened in AWS):
  INCIDENT        the incident id, <cluster>/<node>/<opened>, as Slack and the
                  logs show it, e.g.
                  gpu-inference/ip-10-0-1-149.ec2.internal/20261120T094059Z
  --table NAME    the pullmedic table (the stack output TableName,
                  pullmedic-<stage>); default: $PULLMEDIC_TABLE_NAME
  --scope SCOPE   live (default), dry-run (incidents decided in dry-run
                  mode), or replay:<replay name>
  AWS credentials and region come from the usual places (environment,
  ~/.aws, SSO, instance role); AWS_ENDPOINT_URL is honoured. It only reads.
  The record keeps pullmedic's own steps: Kubernetes Events and the prune's
  disk numbers are not in it.

From a file of Kubernetes Events (what pullmedic would do):
  --events FILE   JSON Lines of core/v1 Events, or kubectl get events -o json.
                  The whole pipeline runs on them on a local AWS (moto), as
                  \`pullmedic local\` does, and the report is built from every
                  event that crossed the bus, in the events' own times. One
                  report per incident the events open.
  --node KIND     where the prune runs: simulated (default; no root needed),
                  lab (the containerd lab: root and test/lab/install.sh), or
                  auto (the lab when it can run here).

  --out DIR       where to write (default: ./postmortems; created if missing)

Examples:
  pullmedic postmortem --events events/samples/seed-incident.jsonl
  PULLMEDIC_TABLE_NAME=pullmedic-prod AWS_PROFILE=oncall \\
    pullmedic postmortem gpu-inference/ip-10-0-1-149.ec2.internal/20261120T094059Z
`;

/** Where the command writes: stdout for results, stderr for progress. */
export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: CommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

const NODE_KINDS = ['simulated', 'lab', 'auto'] as const;
type NodeKind = (typeof NODE_KINDS)[number];
const isNodeKind = (v: string): v is NodeKind =>
  (NODE_KINDS as readonly string[]).includes(v);

/** Why a file cannot be read, in words. */
function readError(path: string, err: unknown): PostmortemError {
  const code = (err as { code?: unknown }).code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'it is a directory'
          : err instanceof Error
            ? err.message
            : String(err);
  return new PostmortemError(`cannot read the events file ${path}: ${why}`, {
    cause: err,
  });
}

/** Reports from a file of events, run through the local runtime. */
async function fromEvents(
  path: string,
  node: NodeKind,
  io: CommandIo
): Promise<PostmortemReport[]> {
  let items: InputItem[];
  try {
    items = await readEvents(path);
  } catch (err) {
    throw readError(path, err);
  }
  const events = items.filter((i) => 'event' in i).length;
  if (events === 0) {
    const bad = items.flatMap((i) =>
      'error' in i ? [`line ${i.line}: ${i.error}`] : []
    );
    throw new PostmortemError(
      `${path} holds no Kubernetes events${bad.length ? ` (${bad.slice(0, 3).join('; ')})` : ' (it is empty)'}`
    );
  }
  const result = await runLocal({
    items,
    node,
    onProgress: (text) => io.err(`pullmedic: ${text}\n`),
  });
  const kinds = [...new Set(result.localNodes.map((n) => n.kind))];
  const caveats = [
    `Replayed by the local runtime on a local AWS (moto) with ${kinds.includes('lab') ? 'the containerd lab (a real containerd on a small tmpfs)' : 'a simulated node (a modelled disk, not a real containerd)'}: pullmedic's decisions are the real handlers', while the durations of the prune and the rollout are the stand-ins'.`,
    ...result.notes.map((n) => `[${n.who}] ${n.text}`),
    ...result.deadLetters.map((d) => `Dead-lettered (${d.queue}): ${d.reason}`),
  ];
  const replayedOn = kinds.includes('lab')
    ? 'the containerd lab'
    : 'a simulated node';
  const reports = reportsFromBusEvents(result.busEvents, {
    shiftMs: result.shiftMs,
    source: `${path}, replayed by pullmedic postmortem --events`,
    caveats,
  }).map((report) => ({ ...report, replayedOn }));
  if (reports.length === 0) {
    const classes = new Map<string, number>();
    for (const e of result.busEvents) {
      const c = e.detail.class;
      if (typeof c === 'string') classes.set(c, (classes.get(c) ?? 0) + 1);
    }
    const seen = [...classes].map(([c, k]) => `${c} ×${k}`).join(', ');
    throw new PostmortemError(
      `no incident was opened from ${path}: ${result.busEvents.length} events crossed the bus${seen ? `, classified ${seen}` : ''}; an incident opens on a pull failure pullmedic acts on (disk_full)`
    );
  }
  return reports;
}

/** The incident record from the table, or a clear error. */
async function fromTable(
  incidentId: string,
  table: string,
  scope: string
): Promise<PostmortemReport> {
  const parts = parseIncidentId(incidentId);
  if (!parts) {
    throw new PostmortemError(
      `"${incidentId}" is not an incident id: <cluster>/<node>/<opened>, e.g. gpu-inference/ip-10-0-1-149.ec2.internal/20261120T094059Z`
    );
  }
  // The SDK's default chain: environment, ~/.aws, SSO, instance role; and
  // AWS_ENDPOINT_URL, which is how tests point it at moto.
  const client = new DynamoDBClient({});
  let record: IncidentRecord | undefined;
  try {
    const store = new DynamoDbIncidentStore(
      new PullmedicTable(
        DynamoDBDocumentClient.from(client),
        table,
        0,
        () => new Date()
      )
    );
    record = await store.get({
      scope,
      cluster: parts.cluster,
      node: parts.node,
    });
  } catch (err) {
    const cause = err instanceof Error && err.cause ? err.cause : err;
    if (isNotFound(cause)) {
      throw new PostmortemError(
        `table ${table} not found (region ${await client.config.region().catch(() => 'unset')}): pass the stack's TableName output with --table`,
        { cause: err }
      );
    }
    const why =
      cause instanceof Error
        ? `${cause.name}: ${cause.message}`
        : String(cause);
    throw new PostmortemError(
      `reading incident ${incidentId} from table ${table} failed: ${why}`,
      { cause: err }
    );
  } finally {
    client.destroy();
  }
  if (record === undefined)
    throw new IncidentNotFoundError(incidentId, table, scope);
  if (record.incidentId !== incidentId)
    throw new IncidentNotFoundError(
      incidentId,
      table,
      scope,
      record.incidentId
    );
  return reportFromIncidentRecord(record, { table, scope });
}

/**
 * Writes a report's Markdown and SVG into `dir`; returns their paths.
 *
 * @example
 * ```ts
 * const [md, svg] = await writeReport(report, './postmortems');
 * ```
 */
export async function writeReport(
  report: PostmortemReport,
  dir: string
): Promise<[string, string]> {
  await mkdir(dir, { recursive: true });
  const base = `postmortem-${safeIncidentId(report.incidentId)}`;
  const md = join(dir, `${base}.md`);
  const svg = join(dir, `${base}.svg`);
  await writeFile(svg, renderSvg(report));
  await writeFile(md, renderMarkdown(report, { svgFile: `${base}.svg` }));
  return [md, svg];
}

const parseOptions = (argv: string[]) =>
  parseArgs({
    args: argv,
    options: {
      events: { type: 'string' },
      out: { type: 'string', default: 'postmortems' },
      table: { type: 'string' },
      scope: { type: 'string', default: 'live' },
      node: { type: 'string', default: 'simulated' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });

/**
 * `pullmedic postmortem`: returns the process exit code (2 for usage
 * errors); throws a {@link PostmortemError} when the report cannot be
 * made (main prints its message).
 *
 * @example
 * ```ts
 * await postmortemCommand(['--events', 'events/samples/seed-incident.jsonl', '--out', dir]);
 * ```
 */
export async function postmortemCommand(
  argv: string[],
  io: CommandIo = processIo
): Promise<number> {
  const usage = (message: string) => {
    io.err(`pullmedic postmortem: ${message}\n\n${POSTMORTEM_HELP}`);
    return 2;
  };
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    // Unknown options and missing values: a usage error, with the help.
    return usage(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(POSTMORTEM_HELP);
    return 0;
  }
  const incidentId = positionals[0];
  if (positionals.length > 1)
    return usage(`one incident at a time (got ${positionals.length})`);
  if ((incidentId === undefined) === (values.events === undefined))
    return usage('give an INCIDENT id or --events FILE (one of the two)');
  if (!isNodeKind(values.node))
    return usage('--node must be simulated, lab or auto');

  let reports: PostmortemReport[];
  if (values.events !== undefined) {
    reports = await fromEvents(values.events, values.node, io);
  } else {
    const table = values.table ?? process.env.PULLMEDIC_TABLE_NAME;
    if (!table)
      throw new PostmortemError(
        'no table: pass --table NAME or set PULLMEDIC_TABLE_NAME (the stack output TableName, pullmedic-<stage>)'
      );
    reports = [await fromTable(incidentId as string, table, values.scope)];
  }
  for (const report of reports) {
    const paths = await writeReport(report, values.out);
    io.out(terminalSummary(report, paths));
  }
  if (reports.length > 1)
    io.out(
      terminalSafe(`${reports.length} incidents, ${reports.length} reports\n`)
    );
  return 0;
}
