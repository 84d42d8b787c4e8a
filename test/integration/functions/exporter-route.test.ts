import { readFile } from 'node:fs/promises';
import {
  EventBridgeClient,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORTER } from '../../../events/exporter.ts';
import { RULE_PATTERNS } from '../../../events/patterns.ts';
import { busTap } from '../../helpers/aws.ts';
import { startTestAws } from '../../helpers/moto.ts';

const SEED = new URL(
  '../../../events/samples/seed-incident.jsonl',
  import.meta.url
);

describe('Feature: events from kubernetes-event-exporter reach classify and resolve', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let sqs: SQSClient;
  let eventBridge: EventBridgeClient;
  const queues: Record<string, string> = {};

  beforeAll(async () => {
    aws = await startTestAws();
    sqs = new SQSClient(aws.clientConfig);
    eventBridge = new EventBridgeClient(aws.clientConfig);
    for (const [i, rule] of (['classify', 'resolve'] as const).entries()) {
      // The same patterns as serverless.yml's rules.
      const queue = await busTap(
        aws.clientConfig,
        'pullmedic-test',
        rule,
        RULE_PATTERNS[rule],
        { createBus: i === 0 }
      );
      queues[rule] = queue.url;
    }
  });
  afterAll(async () => {
    await aws.stop();
  });

  it('routes the exporter Failed event to classify and its Pulled event to resolve, and nothing else', async () => {
    // Prepare: the EnhancedEvent, as the exporter puts it (one entry a call).
    const lines = (await readFile(SEED, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const put = (event: Record<string, unknown>) =>
      eventBridge.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: 'pullmedic-test',
              Source: EXPORTER.source,
              DetailType: EXPORTER.detailType,
              Detail: JSON.stringify({
                ...event,
                clusterName: 'gpu-inference',
              }),
            },
          ],
        })
      );

    // Act: Failed (disk full), Pulled (init container), Scheduled.
    await put(lines[5]);
    await put(lines[2]);
    await put(lines[0]);

    // Assess
    const received = async (url: string) =>
      (
        (
          await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: url,
              MaxNumberOfMessages: 10,
            })
          )
        ).Messages ?? []
      ).map((m) => JSON.parse(m.Body as string).detail.reason);
    expect(await received(queues.classify as string)).toEqual(['Failed']);
    expect(await received(queues.resolve as string)).toEqual(['Pulled']);
  });
});
