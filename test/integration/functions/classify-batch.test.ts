import { readFile } from 'node:fs/promises';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  busTap,
  createTable,
  lambdaContext,
  queueWithArn,
  sqsRecord,
} from '../../helpers/aws.ts';
import { startTestAws } from '../../helpers/moto.ts';

const SEED = new URL(
  '../../../events/samples/seed-incident.jsonl',
  import.meta.url
);

const context = lambdaContext('classify');

/** The seed's Failed event: the kubelet's "no space left on device". */
const seedFailedEvent = async () =>
  JSON.parse((await readFile(SEED, 'utf8')).split('\n')[5] as string);

/** A Kubernetes Event as the forwarder puts it on the bus. */
const envelope = (id: string, event: unknown) =>
  JSON.stringify({
    version: '0',
    id,
    'detail-type': 'Kubernetes Event',
    source: 'pullmedic.kubernetes',
    time: '2026-11-20T09:41:00Z',
    resources: [],
    detail: {
      cluster: 'gpu-inference',
      event,
      node: {
        name: 'ip-10-0-1-149.ec2.internal',
        instanceId: 'i-0123456789abcdef0',
      },
    },
  });

describe('Function: classify handler on a mixed batch (against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let sqs: SQSClient;
  let dlqUrl: string;
  let busCopyUrl: string;

  beforeAll(async () => {
    aws = await startTestAws();
    sqs = new SQSClient(aws.clientConfig);
    dlqUrl = (await queueWithArn(sqs, 'classify-dlq')).url;
    await createTable(aws.clientConfig, 'pullmedic');
    busCopyUrl = (
      await busTap(aws.clientConfig, 'pullmedic-test', 'bus-copy', {
        source: ['pullmedic'],
      })
    ).url;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: aws.endpoint,
      PULLMEDIC_BUS_NAME: 'pullmedic-test',
      PULLMEDIC_DLQ_URL: dlqUrl,
      PULLMEDIC_TABLE_NAME: 'pullmedic',
      PULLMEDIC_SDK_MAX_ATTEMPTS: '1',
    });
  });
  afterAll(async () => {
    await aws.stop();
  });

  it('dead-letters what it cannot read, with the reason, and classifies the rest', async () => {
    // Prepare
    const { handler } = await import('../../../functions/classify.ts');
    const failed = await seedFailedEvent();
    const hostile = structuredClone(failed);
    hostile.source.host = 'ip-10-0-1-149.ec2.internal`reboot`';
    const event: SQSEvent = {
      Records: [
        sqsRecord('m-1', '{"not json'),
        sqsRecord('m-2', envelope('e-1', hostile)),
        sqsRecord('m-3', envelope('e-2', failed)),
      ],
    };

    // Act
    const response = await handler(event, context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const dead = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      })
    );
    const reasons = dead.Messages?.map(
      (m) => m.MessageAttributes?.reason?.StringValue
    ).sort();
    expect(reasons).toEqual([
      expect.stringMatching(
        /^the event does not match its contract: detail\.event\.source\.host: node name must be/
      ),
      expect.stringMatching(/^the message is not JSON/),
    ]);
    expect(dead.Messages?.map((m) => m.Body)).toContain('{"not json');
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: busCopyUrl,
        MaxNumberOfMessages: 10,
      })
    );
    const classified = out.Messages?.map(
      (m) => JSON.parse(m.Body as string).detail
    );
    expect(classified).toHaveLength(1);
    expect(classified?.[0]).toMatchObject({
      class: 'disk_full',
      node: { name: 'ip-10-0-1-149.ec2.internal' },
    });
  });
  it('logs each record with its own event id, though it handles the batch in parallel', async () => {
    // Prepare: a fresh instance of the function that logs at INFO, as
    // serverless.yml deploys it (the tests run the others silent).
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    vi.resetModules();
    const { handler } = await import('../../../functions/classify.ts');
    const failed = await seedFailedEvent();
    const written: string[] = [];
    const stdout = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });

    // Act
    try {
      await handler(
        {
          Records: [
            sqsRecord('m-4', envelope('e-a', failed)),
            sqsRecord('m-5', envelope('e-b', failed)),
          ],
        },
        context
      );
    } finally {
      stdout.mockRestore();
      vi.unstubAllEnvs();
    }

    // Assess
    const processed = written
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.message === 'processed');
    expect(
      processed.map((entry) => [entry.eventId, entry.detailType]).sort()
    ).toEqual([
      ['e-a', 'Kubernetes Event'],
      ['e-b', 'Kubernetes Event'],
    ]);
  });
});
