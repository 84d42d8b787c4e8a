import { readFile } from 'node:fs/promises';
import {
  EventBridgeClient,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULE_PATTERNS } from '../../events/patterns.ts';
import { busTap, receiveAll } from '../helpers/aws.ts';
import { startTestAws } from '../helpers/moto.ts';

const BUS = 'pullmedic-test';
const sample = async (name: string) =>
  JSON.parse(
    await readFile(
      new URL(`../../events/samples/bus/${name}.json`, import.meta.url),
      'utf8'
    )
  ) as {
    source: string;
    'detail-type': string;
    detail: Record<string, unknown>;
  };

describe('Feature: the cluster agent’s rule and the sweep’s entries route as serverless.yml says (against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let sqs: SQSClient;
  let eventBridge: EventBridgeClient;
  const queues: Record<string, string> = {};

  beforeAll(async () => {
    aws = await startTestAws();
    sqs = new SQSClient(aws.clientConfig);
    eventBridge = new EventBridgeClient(aws.clientConfig);
    for (const [i, rule] of (
      ['agent', 'classify', 'resolve'] as const
    ).entries()) {
      // The same patterns as serverless.yml's rules.
      queues[rule] = (
        await busTap(aws.clientConfig, BUS, rule, RULE_PATTERNS[rule], {
          createBus: i === 0,
        })
      ).url;
    }
  });
  afterAll(async () => {
    await aws.stop();
  });

  const put = async (
    e: {
      source: string;
      'detail-type': string;
      detail: Record<string, unknown>;
    },
    tag: string
  ) => {
    const out = await eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: BUS,
            Source: e.source,
            DetailType: e['detail-type'],
            Detail: JSON.stringify({ ...e.detail, incidentId: tag }),
          },
        ],
      })
    );
    expect(out.FailedEntryCount).toBe(0);
  };
  const tags = async (rule: string) =>
    (await receiveAll(sqs, queues[rule] as string))
      .map(
        (m) =>
          JSON.parse(m.Body as string) as {
            detail: { incidentId?: string; foundBy?: string };
          }
      )
      .map((e) => e.detail.incidentId ?? e.detail.foundBy)
      .sort();

  it('gives the agent live restart requests only, and classify the sweep’s entries', async () => {
    // Prepare
    const request = await sample('pod-restart-requested');
    const sweepEntry = await sample('kubernetes-event-sweep');
    const restarted = await sample('pod-restarted');

    // Act
    await put(request, 'live');
    await put(
      { ...request, detail: { ...request.detail, dryRun: true } },
      'dry-run'
    );
    await put(
      {
        ...request,
        detail: { ...request.detail, dryRun: true, replayName: 'pm-1' },
      },
      'replay'
    );
    await put({ ...request, source: 'pullmedic.agent' }, 'forged');
    await put(sweepEntry, 'sweep');
    await put(restarted, 'restarted');

    // Assess
    expect(await tags('agent')).toEqual(['live']);
    expect(await tags('classify')).toEqual(['sweep']);
    // resolve notes what the agent did on the incident's timeline.
    expect(await tags('resolve')).toEqual(['restarted']);
  });
});
