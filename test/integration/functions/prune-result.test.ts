import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbIncidentStore } from '../../../adapters/aws/dynamodb-incident-store.ts';
import { PullmedicTable } from '../../../adapters/aws/dynamodb-table.ts';
import {
  FleetFile,
  type ProvisionedNode,
  provisionFleet,
} from '../../../cli/local/fleet.ts';
import { PRUNE_RESULT_PREFIX } from '../../../core/prune-report.ts';
import type { ClientHook } from '../../../functions/_shared/wiring.ts';
import {
  answerCommand,
  busTap,
  createTable,
  lambdaContext,
  queueWithArn,
  receiveAll,
  seedSentPrune,
  sqsRecord,
} from '../../helpers/aws.ts';
import { startTestAws } from '../../helpers/moto.ts';

const AMIS = new URL('../../../cli/local/amis.json', import.meta.url).pathname;
const GiB = 1024 ** 3;

/** What each command's invocation says, as SSM would keep it. */
const INVOCATIONS: Record<string, Record<string, unknown>> = {
  'cmd-ok': {
    Status: 'Success',
    ResponseCode: 0,
    StandardOutputContent: `pruned\n${PRUNE_RESULT_PREFIX}${JSON.stringify({ v: 1, dryRun: false, fsBytesTotal: 20 * GiB, bytesBefore: 15 * GiB, bytesAfter: 4 * GiB, bytesFreed: 11 * GiB, freeBytesAfter: 16 * GiB, imagesRemoved: 3, imagesRemovedRefs: [], pauseImage: 'pause:3.10', pauseImageIntact: true, leftoverSnapshotsRemoved: 0, tools: {}, method: 'crictl-rmi-prune', errors: [] })}\n`,
    StandardErrorContent: '',
  },
  'cmd-failed': {
    Status: 'Failed',
    StatusDetails: 'Failed',
    ResponseCode: 3,
    StandardOutputContent: '',
    StandardErrorContent:
      'pullmedic-prune: error: no containerd socket at /run/containerd/containerd.sock\n',
  },
  'cmd-timed-out': {
    Status: 'TimedOut',
    StatusDetails: 'ExecutionTimedOut',
    ResponseCode: -1,
    StandardOutputContent: 'measuring /var/lib/containerd\n',
    StandardErrorContent: '',
  },
};

let failNextPutEvents = false;

const storeOf = (dynamo: DynamoDBClient) =>
  new DynamoDbIncidentStore(
    new PullmedicTable(
      DynamoDBDocumentClient.from(dynamo),
      'pullmedic',
      3600,
      () => new Date()
    )
  );

describe('Function: prune-result handler, on what SSM reports (against moto)', () => {
  let hook: ClientHook = () => {};
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let sqs: SQSClient;
  let busCopy: string;
  let nodes: ProvisionedNode[];

  beforeAll(async () => {
    aws = await startTestAws({ amisPath: AMIS });
    sqs = new SQSClient(aws.clientConfig);
    busCopy = (
      await busTap(aws.clientConfig, 'pullmedic-test', 'bus-copy', {
        source: ['pullmedic'],
      })
    ).url;
    const dlq = (await queueWithArn(sqs, 'dlq')).url;
    const dynamo = await createTable(aws.clientConfig, 'pullmedic');
    const fleet = FleetFile.parse({
      cluster: 'prod',
      nodes: ['ip-10-0-7-1', 'ip-10-0-7-2', 'ip-10-0-7-3'].map((n) => ({
        name: `${n}.ec2.internal`,
        rootVolumeGiB: 20,
        nodegroup: { kind: 'managed', name: 'gpu' },
      })),
    });
    nodes = await provisionFleet(fleet, {
      ec2: new EC2Client(aws.clientConfig),
      eks: new EKSClient(aws.clientConfig),
      autoscaling: new AutoScalingClient(aws.clientConfig),
    });
    // Each node's open incident and the command the remediate function sent.
    const store = storeOf(dynamo);
    for (const [i, command] of Object.keys(INVOCATIONS).entries()) {
      const node = nodes[i] as ProvisionedNode;
      await seedSentPrune(
        store,
        {
          key: { cluster: 'prod', node: node.spec.name, scope: 'live' },
          incidentId: `prod/${node.spec.name}/20261120T094059Z`,
          node: { name: node.spec.name, instanceId: node.instanceId },
          openedAt: '2026-11-20T09:40:59Z',
        },
        command
      );
    }
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: aws.endpoint,
      PULLMEDIC_BUS_NAME: 'pullmedic-test',
      PULLMEDIC_TABLE_NAME: 'pullmedic',
      PULLMEDIC_PRUNE_DOCUMENT: 'pullmedic-test-prune-containerd',
      PULLMEDIC_DLQ_URL: dlq,
      PULLMEDIC_SDK_MAX_ATTEMPTS: '1',
    });
    // A named fake: moto's invocations are always Success with empty output
    // and cannot be made to fail or time out, so GetCommandInvocation is
    // answered here; every other call goes to moto (but the one PutEvents a
    // test asks to fail).
    hook = (client) => {
      answerCommand(client, 'GetCommandInvocationCommand', (input) => {
        const { CommandId, InstanceId } = input as {
          CommandId: string;
          InstanceId: string;
        };
        return { CommandId, InstanceId, ...INVOCATIONS[CommandId] };
      });
      // A named fake too: EventBridge refusing one PutEvents call.
      answerCommand(client, 'PutEventsCommand', () => {
        if (!failNextPutEvents) return undefined;
        failNextPutEvents = false;
        throw Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottlingException',
        });
      });
    };
  });
  afterAll(async () => {
    await aws.stop();
  });

  it('parses the result line, and rolls with the command’s own error when it failed or timed out', async () => {
    // Prepare
    const handler = (
      await import('../../../functions/prune-result.ts')
    ).definition.handler({ client: hook });
    const event: SQSEvent = {
      Records: Object.keys(INVOCATIONS).map((command, i) =>
        sqsRecord(
          `m-${i}`,
          JSON.stringify({
            version: '0',
            id: `ssm-${i}`,
            'detail-type': 'EC2 Command Invocation Status-change Notification',
            source: 'aws.ssm',
            time: '2026-11-20T09:42:00Z',
            resources: [],
            detail: {
              'command-id': command,
              'document-name': 'pullmedic-test-prune-containerd',
              'instance-id': nodes[i]?.instanceId,
              'requested-date-time': '2026-11-20T09:41:00Z',
              status: INVOCATIONS[command]?.Status,
            },
          })
        )
      ),
    };

    // Act
    const response = await handler(event, lambdaContext('prune-result'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: busCopy, MaxNumberOfMessages: 10 })
    );
    const emitted = (out.Messages ?? []).map((m) =>
      JSON.parse(m.Body as string)
    );
    const completed = Object.fromEntries(
      emitted
        .filter((e) => e['detail-type'] === 'Node Prune Completed')
        .map((e) => [e.detail.commandId, e.detail])
    );
    expect(completed['cmd-ok']).toMatchObject({
      status: 'Success',
      outcome: 'roll',
      report: { bytesFreed: 11 * GiB },
    });
    expect(completed['cmd-ok'].reason).toContain(
      'below the group minimum of 100 GiB'
    );
    expect(completed['cmd-failed']).toMatchObject({
      status: 'Failed',
      outcome: 'roll',
      report: null,
      commandError:
        'pullmedic-prune: error: no containerd socket at /run/containerd/containerd.sock',
    });
    expect(completed['cmd-timed-out']).toMatchObject({
      status: 'TimedOut',
      outcome: 'roll',
      reason: 'the prune command ended TimedOut (ExecutionTimedOut)',
    });
    const rolls = emitted
      .filter((e) => e['detail-type'] === 'Volume Roll Requested')
      .map((e) => e.detail.cause);
    expect(rolls.sort()).toEqual([
      'below-minimum',
      'prune-failed',
      'prune-failed',
    ]);
  });

  it('emits again, on redelivery, what it decided before its publish failed', async () => {
    // Prepare: the ok command's incident again, under a new command id.
    const handler = (
      await import('../../../functions/prune-result.ts')
    ).definition.handler({ client: hook });
    await receiveAll(sqs, busCopy);
    const store = storeOf(new DynamoDBClient(aws.clientConfig));
    const node = nodes[0] as ProvisionedNode;
    const key = { cluster: 'prod', node: node.spec.name, scope: 'live' };
    const incidentId = `prod/${node.spec.name}/20261121T080000Z`;
    await store.resolve(
      key,
      `prod/${node.spec.name}/20261120T094059Z`,
      '2026-11-20T10:00:00Z',
      {
        at: '2026-11-20T10:00:00Z',
        step: 'resolved',
        detail: 'Pulled',
      }
    );
    await seedSentPrune(
      store,
      {
        key,
        incidentId,
        node: { name: node.spec.name, instanceId: node.instanceId },
        openedAt: '2026-11-21T08:00:00Z',
      },
      'cmd-ok'
    );
    const record = sqsRecord(
      'm-retry',
      JSON.stringify({
        version: '0',
        id: 'ssm-retry',
        'detail-type': 'EC2 Command Invocation Status-change Notification',
        source: 'aws.ssm',
        time: '2026-11-21T08:02:00Z',
        resources: [],
        detail: {
          'command-id': 'cmd-ok',
          'document-name': 'pullmedic-test-prune-containerd',
          'instance-id': node.instanceId,
          status: 'Success',
        },
      })
    );
    const context = lambdaContext('prune-result');
    failNextPutEvents = true;

    // Act
    const first = await handler({ Records: [record] }, context).catch(
      (err: Error) => err
    );
    const second = await handler({ Records: [record] }, context);

    // Assess: the first delivery failed after the roll was claimed; the
    // redelivery still asks for the roll.
    expect(first).toBeInstanceOf(Error);
    expect(second).toEqual({ batchItemFailures: [] });
    const types = (await receiveAll(sqs, busCopy)).map(
      (m) => JSON.parse(m.Body as string)['detail-type']
    );
    expect(types.sort()).toEqual([
      'Node Prune Completed',
      'Volume Roll Requested',
    ]);
  });
});
