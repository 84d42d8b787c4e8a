import { CLASSIFY_HELP, classifyCommand } from './commands/classify.ts';
import { DLQ_HELP, dlqCommand } from './commands/dlq.ts';
import { FAULT_SWEEP_HELP, faultSweepCommand } from './commands/fault-sweep.ts';
import { LOCAL_HELP, localCommand } from './commands/local.ts';
import { POSTMORTEM_HELP, postmortemCommand } from './commands/postmortem.ts';
import { REPLAY_HELP, replayCommand } from './commands/replay.ts';

const HELP = `pullmedic: heals Kubernetes nodes whose image pulls fail because the disk is full

Usage: pullmedic <command> [options]

Commands:
  local      run the whole pipeline on a local AWS (moto) over a file of events
  classify   classify image-pull failure messages (JSON Lines in, JSON Lines out)
  postmortem write an incident's report (Markdown and a timeline SVG), from the
             table or from a file of events
  replay     replay an incident in dry-run: from the bus archive, or locally
  dlq        list the dead letters of a stage with their reasons, and send
             them back
  fault-sweep
             run an incident once per AWS call with that call failing, and
             show that each run heals or tells on-call
  help       show this help, or a command's: pullmedic help local

Examples:
  pullmedic local --events events/samples/seed-incident.jsonl
  pullmedic local --events events/samples/seed-incident.jsonl --json
  pullmedic classify --input events/samples/seed-incident.jsonl
  pullmedic postmortem --events events/samples/seed-incident.jsonl
  pullmedic fault-sweep --quick
  pullmedic dlq --stage prod
`;

const COMMANDS: Record<
  string,
  { run: (argv: string[]) => Promise<number>; help: string }
> = {
  local: { run: localCommand, help: LOCAL_HELP },
  classify: { run: classifyCommand, help: CLASSIFY_HELP },
  postmortem: { run: postmortemCommand, help: POSTMORTEM_HELP },
  replay: { run: replayCommand, help: REPLAY_HELP },
  'fault-sweep': { run: faultSweepCommand, help: FAULT_SWEEP_HELP },
  dlq: { run: dlqCommand, help: DLQ_HELP },
};

/** The CLI: dispatches to a command, maps errors to a message and exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const topic = rest[0] ? COMMANDS[rest[0]] : undefined;
    process.stdout.write(topic ? topic.help : HELP);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`pullmedic: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`pullmedic ${name}: ${message}\n`);
    if (process.env.PULLMEDIC_DEBUG && err instanceof Error)
      process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
