import { parseArgs } from 'node:util';
import type { FleetFile } from '../local/fleet.ts';
import { readEvents } from '../local/input.ts';
import { renderJson, renderTimeline } from '../local/output.ts';
import { runLocal } from '../local/runner.ts';
import { FleetFileError, readFleet } from './fleet-option.ts';

export const LOCAL_HELP = `pullmedic local --events FILE [--fleet FILE] [--json] [--repeat N] [--keep-times]
                [--node auto|lab|simulated] [--verbose]

Runs the whole pipeline on a local AWS (moto, started on a free loopback
port) with the real handlers: the events go through the forwarder's
transform onto the bus, the rules route them to the functions' queues, and
the runtime drains the queues into the handlers until the pipeline is quiet.
Where moto lacks an API (SSM command execution and its status events, EKS
UpdateNodegroupVersion, Auto Scaling instance refresh) the runtime fills
the gap in-process and says so in its output.

  --events FILE   Kubernetes Events: JSON Lines, or one JSON array / List
                  (kubectl get events -o json). Required.
  --fleet FILE    the cluster and its nodes (see README); default: the seed's
                  node ip-10-0-1-149.ec2.internal, 20 GiB, node group "gpu".
  --json          print every event that crossed the bus, one JSON object a
                  line: {"time","source","detail-type","detail"}; then each
                  notification on-call got: {"time","notification":
                  {"subject","attributes","message"}}; then each dead
                  letter (an input line or a record kept with its reason):
                  {"deadLetter":{"queue","reason","body"}}.
  --repeat N      feed the events N times (each once the pipeline is quiet).
  --keep-times    keep the events' times (default: replay them as if now).
  --node KIND     where the prune runs: lab (the containerd lab: a real
                  containerd on a small tmpfs; needs root and
                  test/lab/install.sh), simulated, or auto (default: the lab
                  when it can run here, else simulated, and says why).
  --verbose       show the functions' logs.
`;

/** `pullmedic local`: returns the process exit code. */
export async function localCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string' },
      fleet: { type: 'string' },
      json: { type: 'boolean', default: false },
      repeat: { type: 'string', default: '1' },
      'keep-times': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      node: { type: 'string', default: 'auto' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(LOCAL_HELP);
    return 0;
  }
  if (!values.events) {
    process.stderr.write(
      `pullmedic local: --events FILE is required\n\n${LOCAL_HELP}`
    );
    return 2;
  }
  const node = values.node;
  if (node !== 'auto' && node !== 'lab' && node !== 'simulated') {
    process.stderr.write(
      'pullmedic local: --node must be auto, lab or simulated\n'
    );
    return 2;
  }
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 100) {
    process.stderr.write(
      'pullmedic local: --repeat must be a whole number from 1 to 100\n'
    );
    return 2;
  }
  let fleet: FleetFile;
  try {
    fleet = await readFleet(values.fleet);
  } catch (err) {
    if (!(err instanceof FleetFileError)) throw err;
    process.stderr.write(`pullmedic local: ${err.message}\n`);
    return 2;
  }
  const items = await readEvents(values.events);
  const progress = (text: string) =>
    process.stderr.write(`pullmedic: ${text}\n`);
  const result = await runLocal({
    items,
    fleet,
    repeat,
    keepTimes: values['keep-times'],
    verbose: values.verbose,
    node,
    onProgress: progress,
  });
  if (values.json) {
    for (const n of result.notes)
      process.stderr.write(`[${n.who}] ${n.text}\n`);
    process.stdout.write(`${renderJson(result)}\n`);
  } else {
    process.stdout.write(`${renderTimeline(result, values.events)}\n`);
  }
  return 0;
}
