import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  type DeadLetterQueue,
  type DeadLetterView,
  deadLetterQueues,
  listDeadLetters,
  redrive,
} from '../dlq/dead-letters.ts';

export const DLQ_HELP = `pullmedic dlq [--stage S] [list|redrive] [--queue NAME] [--id MESSAGE_ID]
              [--json] [--region R]

What could not be handled waits in a dead-letter queue, each letter with
its reason; a CloudWatch alarm on every such queue tells on-call when one
fills. This command shows them and sends them back.

  list       (default) every letter of the stage's dead-letter queues
             (pullmedic-<stage>-…-dlq): its queue, when it was sent, how
             often it was received, the event it holds (detail-type, id)
             and why it is here: the handler's reason, EventBridge's
             delivery error, or "SQS moved it" (the function never finished
             with it). Letters are read, not taken: they stay where they are.
  redrive    sends each letter back to the queue it came from
             (pullmedic-<stage>-<function>), then deletes it here. Fix the
             cause first (a role, a missing resource), or it comes back.
             A letter whose body was cut to fit SQS stays, and so do the
             letters of forward-ssm-dlq (SSM's own events: only SSM may put
             them on a bus; the reconciler reads each command's result at
             its deadline anyway).

  --stage S       the stage (serverless --stage); default: dev
  --queue NAME    only this queue: a function (remediate) or the full name
  --id ID         only this message (its SQS message id, from list)
  --json          one JSON object a line per letter: {"queue","owner",
                  "messageId","sentAt","receiveCount","reason","origin",
                  "detailType","eventId","truncated","body"}
  --region R      the AWS region; default: AWS_REGION or the SDK's config

Credentials and region come from the environment, as for the AWS CLI.

Examples:
  npx pullmedic dlq --stage prod
  npx pullmedic dlq --stage prod redrive --queue roll-volume
`;

/** `pullmedic dlq`: returns the process exit code. */
export async function dlqCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      stage: { type: 'string', default: 'dev' },
      queue: { type: 'string' },
      id: { type: 'string' },
      json: { type: 'boolean', default: false },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(DLQ_HELP);
    return 0;
  }
  const action = positionals[0] ?? 'list';
  if (positionals.length > 1 || (action !== 'list' && action !== 'redrive')) {
    process.stderr.write(
      `pullmedic dlq: the action is list or redrive, got "${positionals.join(' ')}"\n\n${DLQ_HELP}`
    );
    return 2;
  }
  if (!/^[a-zA-Z0-9-]+$/.test(values.stage)) {
    process.stderr.write(
      'pullmedic dlq: --stage is letters, digits and dashes\n'
    );
    return 2;
  }
  const sqs = new SQSClient(values.region ? { region: values.region } : {});
  const all = await deadLetterQueues(sqs, values.stage);
  if (all.length === 0) {
    process.stderr.write(
      `pullmedic dlq: no dead-letter queue named pullmedic-${values.stage}-…-dlq here: is the stage deployed in this region?\n`
    );
    return 1;
  }
  const wanted = values.queue;
  const queues = wanted
    ? all.filter((q) => q.owner === wanted || q.name === wanted)
    : all;
  if (wanted && queues.length === 0) {
    process.stderr.write(
      `pullmedic dlq: no dead-letter queue "${wanted}"; the stage has: ${all.map((q) => q.owner).join(', ')}\n`
    );
    return 2;
  }
  const pick = (l: DeadLetterView) =>
    values.id === undefined || l.messageId === values.id;
  return action === 'list'
    ? list(sqs, queues, pick, values.json)
    : redriveAll(sqs, queues, pick, values.json, wanted !== undefined);
}

async function list(
  sqs: SQSClient,
  queues: DeadLetterQueue[],
  pick: (l: DeadLetterView) => boolean,
  json: boolean
): Promise<number> {
  let total = 0;
  for (const queue of queues) {
    const letters = (await listDeadLetters(sqs, queue)).filter(pick);
    total += letters.length;
    if (json) {
      for (const l of letters) process.stdout.write(`${JSON.stringify(l)}\n`);
      continue;
    }
    if (letters.length === 0) continue;
    process.stdout.write(
      `${queue.name}: ${letters.length} dead letter${letters.length === 1 ? '' : 's'}\n`
    );
    for (const l of letters) process.stdout.write(`${describe(l)}\n`);
  }
  if (!json) {
    process.stdout.write(
      total === 0
        ? `no dead letters in ${queues.length} queue(s)\n`
        : `${total} dead letter(s); send them back with: pullmedic dlq … redrive\n`
    );
  }
  return 0;
}

async function redriveAll(
  sqs: SQSClient,
  queues: DeadLetterQueue[],
  pick: (l: DeadLetterView) => boolean,
  json: boolean,
  asked: boolean
): Promise<number> {
  let moved = 0;
  let refused = 0;
  for (const queue of queues) {
    if (!queue.sourceUrl) {
      // Asked for by name: say why not. Otherwise say so only when it holds letters.
      const held = (await listDeadLetters(sqs, queue)).filter(pick).length;
      if (asked || held > 0) {
        process.stderr.write(
          `pullmedic dlq: ${queue.name} keeps its ${held} letter(s): ${queue.noRedrive}\n`
        );
        refused += held;
      }
      continue;
    }
    const result = await redrive(sqs, queue, pick, (l) => {
      process.stdout.write(
        json
          ? `${JSON.stringify({ redriven: l })}\n`
          : `sent back to ${queue.owner}: ${l.detailType ?? 'a letter'} ${l.eventId ?? l.messageId}\n`
      );
    });
    moved += result.moved.length;
  }
  if (!json) {
    process.stdout.write(
      `${moved} letter(s) sent back${refused ? `; ${refused} kept (see above)` : ''}\n`
    );
  }
  return refused > 0 ? 1 : 0;
}

const describe = (l: DeadLetterView) =>
  [
    `  ${l.messageId}  ${l.sentAt ?? '(time unknown)'}  received ${l.receiveCount}×  ${l.detailType ?? '(not an EventBridge event)'}${l.eventId ? ` ${l.eventId}` : ''}${l.truncated ? '  [body cut to fit SQS]' : ''}`,
    `    reason: ${l.reason}`,
    ...(l.origin ? [`    dead-lettered by: ${l.origin}`] : []),
  ].join('\n');
