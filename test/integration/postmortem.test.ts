import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbIncidentStore } from '../../adapters/aws/dynamodb-incident-store.ts';
import { PullmedicTable } from '../../adapters/aws/dynamodb-table.ts';
import { postmortemCommand } from '../../cli/commands/postmortem.ts';
import {
  IncidentNotFoundError,
  PostmortemError,
} from '../../cli/postmortem/errors.ts';
import type { IncidentRecord } from '../../core/ports.ts';
import { startTestAws } from '../helpers/moto.ts';

const TABLE = 'pullmedic-postmortem-test';
const NODE = 'ip-10-0-1-149.ec2.internal';
const ID = `gpu-inference/${NODE}/20261120T094059Z`;
const FILE =
  'postmortem-gpu-inference_ip-10-0-1-149.ec2.internal_20261120T094059Z';
const key = { scope: 'live', cluster: 'gpu-inference', node: NODE };
const IMAGE = '478253497479.dkr.ecr.us-east-1.amazonaws.com/triton:resnet50';

/** The incident as core/remediate.ts opens it from the seed's Failed event. */
const opened: IncidentRecord = {
  key,
  incidentId: ID,
  status: 'open',
  openedAt: '2026-11-20T09:40:59Z',
  node: { name: NODE, instanceId: 'i-0a1b2c3d4e5f60718' },
  class: 'disk_full',
  evidence: 'no space left on device',
  pod: { namespace: 'inference', name: 'triton-79569cfbbc-m2wcc' },
  image: IMAGE,
  step: 'opened',
  timeline: [
    {
      at: '2026-11-20T09:40:59Z',
      step: 'classified',
      detail: 'Failed: disk_full (no space left on device)',
    },
  ],
};

/**
 * The error a command failed with. Each call is settled before the next
 * starts: a rejection left waiting for its assertion is an unhandled one.
 */
async function failureOf(running: Promise<unknown>): Promise<Error> {
  try {
    await running;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`);
  }
  throw new Error('expected the command to fail, and it succeeded');
}

/** Markdown as read: the renderer's backslash escapes removed. */
const plain = (md: string) => md.replace(/\\([\\`*_[\]|~$!#])/g, '$1');

describe('Command: pullmedic postmortem INCIDENT (the table, against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let dir: string;
  const saved = {
    endpoint: process.env.AWS_ENDPOINT_URL,
    table: process.env.PULLMEDIC_TABLE_NAME,
  };
  const io = { out: (t: string) => void output.push(t), err: () => {} };
  let output: string[] = [];

  beforeAll(async () => {
    aws = await startTestAws();
    dir = await mkdtemp(join(tmpdir(), 'pullmedic-postmortem-table-'));
    const client = new DynamoDBClient(aws.clientConfig);
    await client.send(
      new CreateTableCommand({
        TableName: TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      })
    );
    const store = new DynamoDbIncidentStore(
      new PullmedicTable(
        DynamoDBDocumentClient.from(client, {
          marshallOptions: { removeUndefinedValues: true },
        }),
        TABLE,
        3600,
        () => new Date('2026-11-20T10:00:00Z')
      )
    );
    // The steps core/*.ts append, with their own wording.
    await store.openOrJoin(opened, opened.openedAt);
    const steps = [
      ['2026-11-20T09:41:00Z', 'joined', 'Failed: Error: ImagePullBackOff'],
      [
        '2026-11-20T09:41:02Z',
        'prune-requested',
        'sent pullmedic-prod-prune-containerd to i-0a1b2c3d4e5f60718 (command 0b6e3c2a-1111-4c4c-9d9d-5e5e5e5e5e5e)',
      ],
      [
        '2026-11-20T09:41:31Z',
        'prune-completed',
        'Success: the prune freed 10.5 GiB (79% free), but the volume is 20 GiB, below the group minimum of 100 GiB',
      ],
      [
        '2026-11-20T09:41:33Z',
        'roll-started',
        'created lt-0abc123def4567890 version 2: /dev/xvda 20 → 100 GiB; eks-nodegroup-update 7d2c1b0a-2222-4c4c-9d9d-6f6f6f6f6f6f',
      ],
      [
        '2026-11-20T10:12:40Z',
        'roll-completed',
        'eks-nodegroup-update 7d2c1b0a-2222-4c4c-9d9d-6f6f6f6f6f6f: Successful',
      ],
    ] as const;
    for (const [at, step, detail] of steps)
      await store.appendTimeline(key, ID, { at, step, detail });
    await store.resolve(key, ID, '2026-11-20T09:43:05Z', {
      at: '2026-11-20T09:43:05Z',
      step: 'resolved',
      detail: `Pulled: Successfully pulled image "${IMAGE}" in 1m2.5s`,
    });
    client.destroy();
    // The command builds its own client from the default chain: only the
    // environment tells it where moto is.
    process.env.AWS_ENDPOINT_URL = aws.endpoint;
    delete process.env.PULLMEDIC_TABLE_NAME;
  });
  afterAll(async () => {
    for (const [name, value] of [
      ['AWS_ENDPOINT_URL', saved.endpoint],
      ['PULLMEDIC_TABLE_NAME', saved.table],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await aws.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the report of the incident from its record', async () => {
    // Prepare
    output = [];

    // Act
    const code = await postmortemCommand(
      [ID, '--table', TABLE, '--out', dir],
      io
    );

    // Assess
    expect(code).toBe(0);
    const md = plain(await readFile(join(dir, `${FILE}.md`), 'utf8'));
    const svg = await readFile(join(dir, `${FILE}.svg`), 'utf8');
    expect(md).toContain(
      `Incident ${ID}, from the incident record in DynamoDB table ${TABLE} (scope live).`
    );
    expect(md).toContain(`| Node | ${NODE} (i-0a1b2c3d4e5f60718) |`);
    expect(md).toContain('| Pod | inference/triton-79569cfbbc-m2wcc |');
    expect(md).toContain(`| Image | ${IMAGE} |`);
    expect(md).toContain('| Opened | 2026-11-20 09:40:59 UTC |');
    expect(md).toMatch(/\| Resolved \| 2026-11-20 09:43:05 UTC \(Pulled: /);
    expect(md).toContain('| Time to recovery | 2m 6s |');
    const timeline = md.slice(
      md.indexOf('## Timeline'),
      md.indexOf('## Decisions')
    );
    const rows = timeline
      .split('\n')
      .filter((l) => /^\| \d\d:\d\d:\d\d \|/.test(l));
    expect(rows.map((r) => r.split(' | ')[1])).toEqual([
      'classified',
      'kubernetes',
      'prune',
      'prune',
      'roll',
      'resolved',
      'roll',
    ]);
    expect(rows[4]).toContain('/dev/xvda 20 → 100 GiB');
    expect(md).toMatch(
      /\| 09:41:31 \| prune-completed \| roll the node group to a bigger volume \| Success: the prune freed 10\.5 GiB .* below the group minimum of 100 GiB \| no \|/
    );
    expect(md).toContain('New nodes get /dev/xvda 100 GiB instead of 20 GiB');
    expect(md).toContain('No prune report');
    expect(svg).toContain('roll started: /dev/xvda 20 → 100 GiB');
    expect(svg).toContain('time to recovery 2m 6s');
    const summary = output.join('');
    expect(summary).toContain(`Postmortem of ${ID}`);
    expect(summary).toContain('time to recovery 2m 6s');
    expect(summary).toContain(join(dir, `${FILE}.md`));
  });

  it('reads the table from PULLMEDIC_TABLE_NAME when --table is not given', async () => {
    // Prepare
    process.env.PULLMEDIC_TABLE_NAME = TABLE;
    output = [];

    // Act
    const code = await postmortemCommand([ID, '--out', dir], io);

    // Assess
    delete process.env.PULLMEDIC_TABLE_NAME;
    expect(code).toBe(0);
    expect(output.join('')).toContain(`Postmortem of ${ID}`);
  });

  it('says when the incident is not in the table, or the node has a later one', async () => {
    // Act
    const none = await failureOf(
      postmortemCommand(
        [
          `gpu-inference/ip-10-0-9-9.ec2.internal/20261120T094059Z`,
          '--table',
          TABLE,
          '--out',
          dir,
        ],
        io
      )
    );
    const older = await failureOf(
      postmortemCommand(
        [
          `gpu-inference/${NODE}/20261119T010203Z`,
          '--table',
          TABLE,
          '--out',
          dir,
        ],
        io
      )
    );
    const otherScope = await failureOf(
      postmortemCommand(
        [ID, '--table', TABLE, '--scope', 'dry-run', '--out', dir],
        io
      )
    );

    // Assess
    expect(none).toBeInstanceOf(IncidentNotFoundError);
    expect(none.message).toMatch(/has no incident for that node in scope live/);
    expect(older).toBeInstanceOf(IncidentNotFoundError);
    expect(older.message).toContain(
      `that node's is now ${ID} (scope live); pullmedic postmortem ${ID}`
    );
    expect(otherScope).toBeInstanceOf(IncidentNotFoundError);
    expect(otherScope.message).toMatch(/in scope dry-run/);
  });

  it('says when no table is given, or the table does not exist', async () => {
    // Act
    const unset = await failureOf(postmortemCommand([ID, '--out', dir], io));
    const missing = await failureOf(
      postmortemCommand([ID, '--table', 'no-such-table', '--out', dir], io)
    );

    // Assess
    expect(unset).toBeInstanceOf(PostmortemError);
    expect(unset.message).toMatch(
      /no table: pass --table NAME or set PULLMEDIC_TABLE_NAME/
    );
    expect(missing).toBeInstanceOf(PostmortemError);
    expect(missing.message).toMatch(
      /table no-such-table not found \(region us-east-1\)/
    );
  });

  it('refuses what is not an incident id, and a usage without input', async () => {
    // Prepare
    const errors: string[] = [];
    const capture = { out: () => {}, err: (t: string) => void errors.push(t) };

    // Act
    const bad = await failureOf(
      postmortemCommand(['not-an-id', '--table', TABLE], io)
    );
    const neither = await postmortemCommand([], capture);
    const both = await postmortemCommand([ID, '--events', 'x.jsonl'], capture);

    // Assess
    expect(bad.message).toMatch(/"not-an-id" is not an incident id/);
    expect(neither).toBe(2);
    expect(both).toBe(2);
    expect(errors[0]).toContain(
      'give an INCIDENT id or --events FILE (one of the two)'
    );
  });
});
