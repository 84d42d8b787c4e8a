import {
  EventBridgeClient,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../../adapters/aws/eventbridge-publisher.ts';
import { AwsCallError } from '../../../core/errors.ts';
import type { Emitted } from '../../../core/ports.ts';
import { parseDetail } from '../../../events/contracts.ts';
import {
  DETAIL_TYPES,
  PIPELINE_DETAIL_TYPES,
} from '../../../events/detail-types.ts';
import { Envelope } from '../../../events/schemas.ts';
import { busTap } from '../../helpers/aws.ts';
import { sampleDetail } from '../../helpers/bus.ts';
import { startTestAws } from '../../helpers/moto.ts';

const noSleep = async () => {};

/** A whole `Incident Opened`, numbered by its incident id. */
const opened = (n: number): Emitted => ({
  detailType: DETAIL_TYPES.incidentOpened,
  detail: {
    ...sampleDetail(DETAIL_TYPES.incidentOpened),
    incidentId: `inc-${n}`,
  },
});
const numberOf = (detail: string): number =>
  Number(JSON.parse(detail).incidentId.slice('inc-'.length));

/** Everything on the tap's queue, as envelopes. */
async function drain(sqs: SQSClient, queueUrl: string) {
  const received: Envelope[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 })
    );
    if (!out.Messages?.length) return received;
    for (const m of out.Messages)
      received.push(Envelope.parse(JSON.parse(m.Body ?? '')));
  }
}

describe('Class: EventBridgePublisher (against moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let sqs: SQSClient;
  let queueUrl: string;

  beforeAll(async () => {
    aws = await startTestAws();
    sqs = new SQSClient(aws.clientConfig);
    queueUrl = (
      await busTap(aws.clientConfig, 'pullmedic-test', 'all', {
        source: ['pullmedic'],
      })
    ).url;
  });
  afterAll(async () => {
    await aws.stop();
  });

  describe('Method: publish', () => {
    it('puts every event on the bus, ten per call', async () => {
      // Prepare
      const publisher = new EventBridgePublisher(
        new EventBridgeClient(aws.clientConfig),
        'pullmedic-test',
        3,
        noSleep
      );
      const events = Array.from({ length: 23 }, (_, i) => opened(i));

      // Act
      await publisher.publish(events);

      // Assess
      const received = (await drain(sqs, queueUrl)).map((e) =>
        numberOf(JSON.stringify(e.detail))
      );
      expect(received.sort((a, b) => a - b)).toEqual(events.map((_, i) => i));
    });

    it('puts each pipeline detail-type on the bus as its contract reads it back', async () => {
      // Prepare: one whole detail of every type the pipeline emits.
      const publisher = new EventBridgePublisher(
        new EventBridgeClient(aws.clientConfig),
        'pullmedic-test',
        3,
        noSleep
      );
      const events = PIPELINE_DETAIL_TYPES.map(
        (type) => ({ detailType: type, detail: sampleDetail(type) }) as Emitted
      );

      // Act
      await publisher.publish(events);

      // Assess: what a rule delivers parses through its detail-type's
      // schema, unchanged.
      const received = await drain(sqs, queueUrl);
      const parsed = received.map((e) => {
        const type = PIPELINE_DETAIL_TYPES.find((t) => t === e['detail-type']);
        if (type === undefined) return `unknown ${e['detail-type']}`;
        const out = parseDetail(type, e.detail);
        return out.success ? out.data : out.error.message;
      });
      expect(
        parsed.sort((a, b) =>
          JSON.stringify(a).localeCompare(JSON.stringify(b))
        )
      ).toEqual(
        events.sort((a, b) =>
          JSON.stringify(a).localeCompare(JSON.stringify(b))
        )
      );
    });
  });
});

// moto cannot be made to fail a single entry of a valid PutEvents, so the
// partial-failure path is covered with aws-sdk-client-mock.
describe('Class: EventBridgePublisher (partial failures, on aws-sdk-client-mock)', () => {
  it('resends only the entries EventBridge rejected', async () => {
    // Prepare
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [
          { EventId: 'a' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'x' },
          { EventId: 'c' },
        ],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }] });
    const publisher = new EventBridgePublisher(
      new EventBridgeClient({}),
      'bus',
      3,
      noSleep
    );

    // Act
    await publisher.publish([0, 1, 2].map(opened));

    // Assess
    const calls = eb.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(2);
    expect(
      calls[1]?.args[0].input.Entries?.map((e) => numberOf(e.Detail ?? ''))
    ).toEqual([1]);
    eb.restore();
  });

  it('fails when entries still fail after the last attempt', async () => {
    // Prepare
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [
        { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' },
      ],
    });
    const publisher = new EventBridgePublisher(
      new EventBridgeClient({}),
      'bus',
      3,
      noSleep
    );

    // Act
    const publishing = publisher.publish([opened(0)]);

    // Assess
    await expect(publishing).rejects.toThrow(AwsCallError);
    await expect(publishing).rejects.toThrow(
      /an entry still rejected after 3 attempts: ThrottlingException/
    );
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(3);
    eb.restore();
  });

  it('sends the publishes of one turn together, and fails only the one whose entry was rejected', async () => {
    // Prepare: three records publish side by side; EventBridge keeps
    // rejecting the second record's entry.
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand).callsFake(
      (input: { Entries: { Detail: string }[] }) => ({
        FailedEntryCount: 1,
        Entries: input.Entries.map((e) =>
          numberOf(e.Detail) === 1
            ? { ErrorCode: 'InternalFailure', ErrorMessage: 'x' }
            : { EventId: 'ok' }
        ),
      })
    );
    const publisher = new EventBridgePublisher(
      new EventBridgeClient({}),
      'bus',
      2,
      noSleep
    );
    const publish = (n: number) => publisher.publish([opened(n)]);

    // Act
    const settled = await Promise.allSettled([
      publish(0),
      publish(1),
      publish(2),
    ]);

    // Assess: one call for the three, one more for the rejected entry.
    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    const calls = eb.commandCalls(PutEventsCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([3, 1]);
    eb.restore();
  });

  it('keeps each call within 256 KB, and refuses an event PutEvents cannot take', async () => {
    // Prepare
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map(() => ({ EventId: 'ok' })),
    }));
    const publisher = new EventBridgePublisher(
      new EventBridgeClient({}),
      'bus',
      3,
      noSleep
    );
    const resolved = sampleDetail(DETAIL_TYPES.incidentResolved);
    const sized = (kb: number): Emitted => ({
      detailType: DETAIL_TYPES.incidentResolved,
      detail: {
        ...resolved,
        timeline: [
          { at: resolved.resolvedAt, step: 'x', detail: 'x'.repeat(kb * 1024) },
        ],
      },
    });

    // Act
    await publisher.publish([sized(100), sized(100), sized(100)]);
    const tooBig = publisher.publish([sized(300)]);

    // Assess: 100 KB entries, two to a call.
    const sizes = eb
      .commandCalls(PutEventsCommand)
      .map((c) => c.args[0].input.Entries?.length);
    expect(sizes).toEqual([2, 1]);
    await expect(tooBig).rejects.toMatchObject({ permanent: true });
    await expect(tooBig).rejects.toThrow(
      /more than PutEvents takes \(256 KB\)/
    );
    eb.restore();
  });
});
