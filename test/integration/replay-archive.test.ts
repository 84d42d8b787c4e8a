import {
  CreateArchiveCommand,
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ReplayProgress,
  replayArchive,
} from '../../cli/replay/archive.ts';
import { runModeOf } from '../../core/context.ts';
import { RULE_PATTERNS } from '../../events/patterns.ts';
import { FakeControlSwitch } from '../fakes/fake-control-switch.ts';
import { busTap } from '../helpers/aws.ts';
import { startTestAws } from '../helpers/moto.ts';

describe('Function: replayArchive (pullmedic replay --archive, against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let eventBridge: EventBridgeClient;
  let sqs: SQSClient;
  let queueUrl: string;

  beforeAll(async () => {
    aws = await startTestAws();
    eventBridge = new EventBridgeClient(aws.clientConfig);
    sqs = new SQSClient(aws.clientConfig);
    const bus = await eventBridge.send(
      new CreateEventBusCommand({ Name: 'pullmedic-test' })
    );
    await eventBridge.send(
      new CreateArchiveCommand({
        ArchiveName: 'pullmedic-test-archive',
        EventSourceArn: bus.EventBusArn,
        EventPattern: JSON.stringify(RULE_PATTERNS.archive),
      })
    );
    await eventBridge.send(
      new PutEventsCommand({
        Entries: [1, 2].map((n) => ({
          EventBusName: 'pullmedic-test',
          Source: 'pullmedic.kubernetes',
          DetailType: 'Kubernetes Event',
          Detail: JSON.stringify({ n }),
        })),
      })
    );
    // The rule comes after the events: only the replay reaches it.
    queueUrl = (
      await busTap(
        aws.clientConfig,
        'pullmedic-test',
        'classify',
        { source: ['pullmedic.kubernetes'] },
        { createBus: false }
      )
    ).url;
  });
  afterAll(async () => {
    await aws.stop();
  });

  it('replays the window onto the bus, follows it to its end, and the events run dry', async () => {
    // Prepare
    const seen: ReplayProgress[] = [];

    // Act
    const { name, final } = await replayArchive(
      eventBridge,
      {
        archive: 'pullmedic-test-archive',
        from: new Date(Date.now() - 3_600_000),
        to: new Date(Date.now() + 60_000),
        live: false,
      },
      (p) => seen.push(p),
      { pollMs: 10, now: () => new Date('2026-11-20T10:00:00Z') }
    );

    // Assess
    expect(name).toBe('pullmedic-20261120T100000Z');
    expect(final.state).toBe('COMPLETED');
    expect(seen.at(-1)?.state).toBe('COMPLETED');
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 })
    );
    const envelopes = (out.Messages ?? []).map((m) =>
      JSON.parse(m.Body as string)
    );
    expect(envelopes).toHaveLength(2);
    expect(envelopes.every((e) => e['replay-name'] === name)).toBe(true);
    const run = await runModeOf(envelopes[0], new FakeControlSwitch('live'));
    expect(run.dryRun).toBe(true);
  });

  it('names a live replay so the functions may act', async () => {
    // Act
    const { name } = await replayArchive(
      eventBridge,
      {
        archive: 'pullmedic-test-archive',
        from: new Date(0),
        to: new Date(),
        live: true,
      },
      () => {},
      { pollMs: 10 }
    );

    // Assess
    expect(name).toMatch(/^pullmedic-live-\d{8}T\d{6}Z$/);
    const run = await runModeOf(
      { id: 'ev-1', 'replay-name': name },
      new FakeControlSwitch('live')
    );
    expect(run.dryRun).toBe(false);
  });
});
