import {
  EventBridgeClient,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETAIL_TYPES } from '../../events/detail-types.ts';
import { patternsFor } from '../../events/patterns.ts';
import { busTap, receiveAll } from '../helpers/aws.ts';
import { startTestAws } from '../helpers/moto.ts';

const BUS = 'pullmedic-prod';

/**
 * SSM's invocation statuses (the SDK's CommandInvocationStatus). Terminal:
 * Success, Failed, TimedOut, Cancelled. Cancelling is on its way to
 * Cancelled; Undeliverable, DeliveryTimedOut, ExecutionTimedOut and
 * Terminated are status details, not statuses.
 */
const STATUSES = [
  'Pending',
  'InProgress',
  'Delayed',
  'Cancelling',
  'Success',
  'Failed',
  'TimedOut',
  'Cancelled',
];

describe("Feature: the SSM rules take the terminal statuses of this stage's documents (against moto)", () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let sqs: SQSClient;
  let eventBridge: EventBridgeClient;
  let pruneResult: string;
  let forwarded: string;

  beforeAll(async () => {
    aws = await startTestAws();
    sqs = new SQSClient(aws.clientConfig);
    eventBridge = new EventBridgeClient(aws.clientConfig);
    // The rules as serverless.yml gives them to stage "prod".
    const patterns = patternsFor('prod');
    pruneResult = (
      await busTap(aws.clientConfig, BUS, 'prune-result', patterns.pruneResult)
    ).url;
    forwarded = (
      await busTap(
        aws.clientConfig,
        BUS,
        'forward-ssm',
        patterns.forwardSsmToBus,
        { createBus: false }
      )
    ).url;
  });
  afterAll(async () => {
    await aws.stop();
  });

  /**
   * One status-change event as SSM sends it (moto lets a test put an
   * `aws.ssm` event; AWS keeps that source for the service).
   */
  const statusChange = (document: string, status: string) => ({
    EventBusName: BUS,
    Source: 'aws.ssm',
    DetailType: DETAIL_TYPES.ssmCommandInvocationStatusChange,
    Detail: JSON.stringify({
      'command-id': `${document}/${status}`,
      'document-name': document,
      'instance-id': 'i-0abc12345678def90',
      'requested-date-time': '2026-11-20T09:41:00.000Z',
      status,
    }),
  });

  const received = async (url: string) =>
    (await receiveAll(sqs, url)).map(
      (m) =>
        (JSON.parse(m.Body as string) as { detail: { 'command-id': string } })
          .detail['command-id']
    );

  it('passes Success, Failed, TimedOut and Cancelled to prune-result, and nothing on its way there', async () => {
    // Act
    for (const status of STATUSES) {
      await eventBridge.send(
        new PutEventsCommand({
          Entries: [statusChange('pullmedic-prod-prune-containerd', status)],
        })
      );
    }

    // Assess
    expect((await received(pruneResult)).sort()).toEqual(
      ['Success', 'Failed', 'TimedOut', 'Cancelled']
        .map((s) => `pullmedic-prod-prune-containerd/${s}`)
        .sort()
    );
  });

  it("takes only this stage's documents, not another stage's that share the prefix", async () => {
    // Act
    for (const document of [
      'pullmedic-prod-prune-bottlerocket',
      'pullmedic-dev-prune-containerd',
      'pullmedic-production-prune-containerd',
      'AWS-RunShellScript',
    ]) {
      await eventBridge.send(
        new PutEventsCommand({
          Entries: [statusChange(document, 'Success')],
        })
      );
    }

    // Assess
    expect(await received(pruneResult)).toEqual([
      'pullmedic-prod-prune-bottlerocket/Success',
    ]);
    // The forwarding rule (default bus → ours) is scoped the same way.
    const forwardedIds = await received(forwarded);
    expect(forwardedIds).toContain('pullmedic-prod-prune-bottlerocket/Success');
    expect(forwardedIds.some((id) => id.startsWith('pullmedic-dev-'))).toBe(
      false
    );
    expect(
      forwardedIds.some((id) => id.startsWith('pullmedic-production-'))
    ).toBe(false);
  });

  it('refuses a stage name that could widen a pattern', () => {
    // Act
    const widen = () => patternsFor('prod"}, {"prefix": "');

    // Assess
    expect(widen).toThrow(/letters, digits and dashes/);
  });
});
