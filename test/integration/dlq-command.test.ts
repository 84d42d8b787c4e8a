import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  CreateQueueCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsDeadLetters } from '../../adapters/aws/sqs-dead-letters.ts';
import { receiveAll } from '../helpers/aws.ts';
import { startTestAws } from '../helpers/moto.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));

const envelope = (id: string, type = 'Node Prune Requested') =>
  JSON.stringify({
    version: '0',
    id,
    'detail-type': type,
    source: 'pullmedic',
    time: '2026-11-20T09:41:00Z',
    resources: [],
    detail: { incidentId: `incident-${id}` },
  });

describe('Command: pullmedic dlq (against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let sqs: SQSClient;
  const urls: Record<string, string> = {};

  /** The CLI as on-call runs it, its AWS endpoint the emulator. */
  const cli = (...args: string[]) => {
    const r = spawnSync(
      'node_modules/.bin/node',
      ['bin/pullmedic.mjs', 'dlq', '--stage', 'test', ...args],
      {
        cwd: repo,
        encoding: 'utf8',
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: aws.endpoint,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_SECRET_ACCESS_KEY: 'testing',
        },
      }
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const jsonLines = (text: string) =>
    text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    aws = await startTestAws();
    sqs = new SQSClient(aws.clientConfig);
    for (const name of [
      'classify',
      'classify-dlq',
      'remediate',
      'remediate-dlq',
      'forward-ssm-dlq',
    ]) {
      urls[name] = (
        await sqs.send(
          new CreateQueueCommand({ QueueName: `pullmedic-test-${name}` })
        )
      ).QueueUrl as string;
    }
    // Another stage's letters are not this stage's.
    await sqs.send(
      new CreateQueueCommand({ QueueName: 'pullmedic-prod-classify-dlq' })
    );
    // What the handler dead-letters: the body, the reason, the origin.
    await new SqsDeadLetters(sqs, urls['classify-dlq'] as string).send(
      envelope('ev-denied', 'Kubernetes Event'),
      'AccessDenied: ec2:DescribeInstances (reading the node)',
      'classify'
    );
    // What EventBridge puts in a target's DLQ when it cannot deliver.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: urls['remediate-dlq'],
        MessageBody: envelope('ev-undelivered'),
        MessageAttributes: {
          ERROR_CODE: { DataType: 'String', StringValue: 'SQSError' },
          ERROR_MESSAGE: {
            DataType: 'String',
            StringValue: 'KMS key is disabled',
          },
        },
      })
    );
    // What SQS moves after maxReceiveCount: no reason of ours.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: urls['remediate-dlq'],
        MessageBody: envelope('ev-timed-out'),
      })
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: urls['forward-ssm-dlq'],
        MessageBody: envelope(
          'ev-ssm',
          'EC2 Command Invocation Status-change Notification'
        ),
      })
    );
  });
  afterAll(async () => {
    await aws.stop();
  });

  it("lists the stage's letters with their reasons, and leaves them where they are", () => {
    // Act
    const first = cli('list', '--json');
    const again = cli('list', '--json');

    // Assess
    expect(first.status, first.stderr).toBe(0);
    const letters = jsonLines(first.stdout);
    const byEvent = Object.fromEntries(
      letters.map((l) => [l.eventId as string, l])
    );
    expect(Object.keys(byEvent).sort()).toEqual([
      'ev-denied',
      'ev-ssm',
      'ev-timed-out',
      'ev-undelivered',
    ]);
    expect(byEvent['ev-denied']).toMatchObject({
      queue: 'pullmedic-test-classify-dlq',
      owner: 'classify',
      detailType: 'Kubernetes Event',
      reason: 'AccessDenied: ec2:DescribeInstances (reading the node)',
      origin: 'classify',
      truncated: false,
    });
    expect(byEvent['ev-undelivered']?.reason).toBe(
      'EventBridge could not deliver it to the queue: SQSError: KMS key is disabled'
    );
    expect(byEvent['ev-timed-out']?.reason).toMatch(/^SQS moved it/);
    expect(jsonLines(again.stdout)).toHaveLength(4);
  });

  it('prints each letter and a count for a person', () => {
    // Act
    const shown = cli();

    // Assess
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain(
      'pullmedic-test-classify-dlq: 1 dead letter'
    );
    expect(shown.stdout).toContain(
      'reason: AccessDenied: ec2:DescribeInstances (reading the node)'
    );
    expect(shown.stdout).toContain('4 dead letter(s)');
  });

  it('sends one letter back to its queue by id, without its dead-letter attributes', async () => {
    // Prepare
    const id = jsonLines(cli('list', '--json', '--queue', 'classify').stdout)[0]
      ?.messageId as string;

    // Act
    const result = cli('redrive', '--id', id, '--queue', 'classify');

    // Assess
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'sent back to classify: Kubernetes Event ev-denied'
    );
    const back = await receiveAll(sqs, urls.classify as string);
    expect(back.map((m) => m.Body)).toEqual([
      envelope('ev-denied', 'Kubernetes Event'),
    ]);
    expect(back[0]?.MessageAttributes?.reason).toBeUndefined();
    expect(
      jsonLines(cli('list', '--json', '--queue', 'classify').stdout)
    ).toEqual([]);
  });

  it('redrives the rest, keeps the SSM letters and says why', async () => {
    // Act
    const result = cli('redrive');

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'pullmedic-test-forward-ssm-dlq keeps its 1 letter(s): its letters are SSM status events'
    );
    expect(result.stdout).toContain('2 letter(s) sent back; 1 kept');
    const back = await receiveAll(sqs, urls.remediate as string);
    expect(back.map((m) => JSON.parse(m.Body as string).id).sort()).toEqual([
      'ev-timed-out',
      'ev-undelivered',
    ]);
    const left = jsonLines(cli('list', '--json').stdout);
    expect(left.map((l) => l.eventId)).toEqual(['ev-ssm']);
  });

  it('refuses what it does not know, and says what the stage has', () => {
    // Act
    const action = cli('purge');
    const queue = cli('list', '--queue', 'nope');
    const stage = spawnSync(
      'node_modules/.bin/node',
      ['bin/pullmedic.mjs', 'dlq', '--stage', 'elsewhere'],
      {
        cwd: repo,
        encoding: 'utf8',
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: aws.endpoint,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_SECRET_ACCESS_KEY: 'testing',
        },
      }
    );

    // Assess
    expect(action.status).toBe(2);
    expect(action.stderr).toContain('the action is list or redrive');
    expect(queue.status).toBe(2);
    expect(queue.stderr).toContain(
      'the stage has: classify, forward-ssm, remediate'
    );
    expect(stage.status).toBe(1);
    expect(stage.stderr).toContain(
      'no dead-letter queue named pullmedic-elsewhere-'
    );
  });
});
