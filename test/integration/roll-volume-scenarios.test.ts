import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  type StartInstanceRefreshCommandInput,
} from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  type ResponseLaunchTemplateData,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  EKSClient,
  type UpdateNodegroupVersionCommandInput,
} from '@aws-sdk/client-eks';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbIncidentStore } from '../../adapters/aws/dynamodb-incident-store.ts';
import { DynamoDbRollLocks } from '../../adapters/aws/dynamodb-roll-locks.ts';
import {
  createPullmedicTable,
  PullmedicTable,
} from '../../adapters/aws/dynamodb-table.ts';
import { Ec2LaunchTemplates } from '../../adapters/aws/ec2-launch-templates.ts';
import { Ec2NodeDirectory } from '../../adapters/aws/ec2-node-directory.ts';
import { AwsRollouts } from '../../adapters/aws/rollouts.ts';
import {
  FleetFile,
  type ProvisionedNode,
  provisionFleet,
} from '../../cli/local/fleet.ts';
import type { RunMode } from '../../core/context.ts';
import { renderNotification } from '../../core/notification.ts';
import { DEFAULT_POLICY } from '../../core/policy.ts';
import type { Emitted } from '../../core/ports.ts';
import { rollToken, rollVolume } from '../../core/roll-volume.ts';
import { DETAIL_TYPES } from '../../events/detail-types.ts';
import type { VolumeRollRequestedDetail } from '../../events/schemas.ts';
import { answerCommand } from '../helpers/aws.ts';
import { startTestAws } from '../helpers/moto.ts';

// Every roll path of issue "Roll node groups to bigger volumes" against
// moto: real EC2 launch templates, instances, Auto Scaling groups, EKS node
// groups and the DynamoDB incident store. moto lacks two calls; a named,
// hand-written fake middleware answers only those (the request shapes of
// both are checked against the API reference in
// test/integration/adapters/rollouts.test.ts), everything else is moto.

const AMIS = new URL('../../cli/local/amis.json', import.meta.url).pathname;
const LIVE: RunMode = {
  mode: 'live',
  dryRun: false,
  scope: 'live',
  eventId: 'event-roll',
};
const OFF: RunMode = {
  mode: 'off',
  dryRun: true,
  scope: 'dry-run',
  eventId: 'event-roll',
};

type Fields = Record<string, unknown>;
const without = (
  data: ResponseLaunchTemplateData | undefined,
  key: string
): Fields => {
  const { [key]: _, ...rest } = (data ?? {}) as Fields;
  return rest;
};

/**
 * Version 2 is version 1 with the first mapping's volume at `sizeGiB`:
 * every other mapping and field kept.
 */
function expectOnlyRootGrown(
  v1: ResponseLaunchTemplateData | undefined,
  v2: ResponseLaunchTemplateData | undefined,
  sizeGiB: number
): void {
  const [root1, ...rest1] = v1?.BlockDeviceMappings ?? [];
  expect(v2?.BlockDeviceMappings).toEqual([
    { ...root1, Ebs: { ...root1?.Ebs, VolumeSize: sizeGiB } },
    ...rest1,
  ]);
  expect(without(v2, 'BlockDeviceMappings')).toEqual(
    without(v1, 'BlockDeviceMappings')
  );
}

describe('Feature: rolling each kind of node group to a bigger volume (moto)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let ec2: EC2Client;
  let eks: EKSClient;
  let autoscaling: AutoScalingClient;
  let store: DynamoDbIncidentStore;
  let locks: DynamoDbRollLocks;
  const nodegroupUpdates: UpdateNodegroupVersionCommandInput[] = [];
  const refreshes: StartInstanceRefreshCommandInput[] = [];
  let subnet = 10;

  beforeAll(async () => {
    aws = await startTestAws({ amisPath: AMIS });
    ec2 = new EC2Client(aws.clientConfig);
    eks = new EKSClient(aws.clientConfig);
    autoscaling = new AutoScalingClient(aws.clientConfig);
    // Fake: UpdateNodegroupVersion (moto: no route) and StartInstanceRefresh
    // (moto: HTTP 500) are recorded and answered; nothing else is touched.
    answerCommand(eks, 'UpdateNodegroupVersionCommand', (input) => {
      nodegroupUpdates.push(input as UpdateNodegroupVersionCommandInput);
      return {
        update: {
          id: `update-${nodegroupUpdates.length}`,
          status: 'InProgress',
        },
      };
    });
    answerCommand(autoscaling, 'StartInstanceRefreshCommand', (input) => {
      refreshes.push(input as StartInstanceRefreshCommandInput);
      return { InstanceRefreshId: `refresh-${refreshes.length}` };
    });
    // Nothing under way before a refresh is started (moto: HTTP 500).
    answerCommand(autoscaling, 'DescribeInstanceRefreshesCommand', () => ({
      InstanceRefreshes: [],
    }));
    const dynamo = new DynamoDBClient(aws.clientConfig);
    await createPullmedicTable(dynamo, 'pullmedic');
    const table = new PullmedicTable(
      DynamoDBDocumentClient.from(dynamo, {
        marshallOptions: { removeUndefinedValues: true },
      }),
      'pullmedic',
      3600,
      () => new Date()
    );
    store = new DynamoDbIncidentStore(table);
    locks = new DynamoDbRollLocks(table);
  });
  afterAll(async () => {
    await aws.stop();
  });

  const deps = () => ({
    incidents: store,
    locks,
    nodes: new Ec2NodeDirectory(ec2, eks),
    launchTemplates: new Ec2LaunchTemplates(ec2),
    rollouts: new AwsRollouts(eks, autoscaling, 90),
    clock: { now: () => new Date() },
    // Many groups roll in this file within the hour: the fleet-wide budget
    // is not what is under test here (the unit tests cover it).
    policy: { ...DEFAULT_POLICY, maxRollsPerHour: 100 },
    busName: 'pullmedic-test',
  });

  /** A one-node fleet in its own cluster and subnet, and its open incident. */
  const scenario = async (
    cluster: string,
    node: Record<string, unknown>,
    cause: VolumeRollRequestedDetail['cause'] = 'below-minimum'
  ) => {
    subnet++;
    const name = `ip-10-0-${subnet}-10.ec2.internal`;
    const fleet = FleetFile.parse({ cluster, nodes: [{ name, ...node }] });
    const [provisioned] = await provisionFleet(fleet, {
      ec2,
      eks,
      autoscaling,
    });
    const p = provisioned as ProvisionedNode;
    const incidentId = `${cluster}/${name}/20261120T094059Z`;
    await store.openOrJoin(
      {
        key: { cluster, node: name, scope: 'live' },
        incidentId,
        status: 'open',
        openedAt: '2026-11-20T09:40:59Z',
        node: { name, instanceId: p.instanceId },
        class: 'disk_full',
        evidence: 'no space left on device',
        // As prune-result leaves it: a bigger volume asked for.
        step: 'roll-requested',
        stepBy: 'event-prune-result',
        timeline: [],
      },
      '2026-11-20T09:40:59Z'
    );
    const request: VolumeRollRequestedDetail = {
      cluster,
      node: { name, instanceId: p.instanceId },
      dryRun: false,
      incidentId,
      reason: 'the volume is below the group minimum',
      minimumSizeGiB: 100,
      cause,
    };
    return { p, request };
  };

  const versions = async (templateId: string) => {
    const out = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: templateId,
      })
    );
    return new Map(
      (out.LaunchTemplateVersions ?? []).map((v) => [
        v.VersionNumber,
        v.LaunchTemplateData,
      ])
    );
  };

  const text = (emitted: Emitted[]) =>
    emitted
      .map((e) => renderNotification(e.detailType, e.detail).text)
      .join('\n');

  it('grows an AL2023 managed node group from 20 to 100 GiB, keeping everything else', async () => {
    // Prepare
    const { p, request } = await scenario('al2023-mng', {
      amiFamily: 'al2023',
      rootVolumeGiB: 20,
      nodegroup: { kind: 'managed', name: 'gpu' },
    });
    const updatesBefore = nodegroupUpdates.length;

    // Act
    const emitted = await rollVolume(request, LIVE, deps());

    // Assess
    const v = await versions(p.launchTemplateId);
    const [v1, v2] = [v.get(1), v.get(2)];
    expect(v2?.BlockDeviceMappings).toEqual([
      {
        ...v1?.BlockDeviceMappings?.[0],
        Ebs: { ...v1?.BlockDeviceMappings?.[0]?.Ebs, VolumeSize: 100 },
      },
    ]);
    expect(v2?.BlockDeviceMappings?.[0]?.Ebs).toMatchObject({
      VolumeType: 'gp3',
      Iops: 3000,
      Throughput: 125,
      Encrypted: true,
      DeleteOnTermination: true,
    });
    expect(without(v2, 'BlockDeviceMappings')).toEqual(
      without(v1, 'BlockDeviceMappings')
    );
    expect(nodegroupUpdates.slice(updatesBefore)).toEqual([
      {
        clusterName: 'al2023-mng',
        nodegroupName: 'gpu',
        launchTemplate: { id: p.launchTemplateId, version: '2' },
        clientRequestToken: `${rollToken('live', request.incidentId)}-v2`,
      },
    ]);
    expect(emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.volumeRollStarted,
    ]);
    const message = text(emitted);
    expect(message).toContain('Rolling node group gpu to 100 GiB volumes');
    expect(message).toContain('/dev/xvda 20 GiB → 100 GiB');
    expect(message).toContain(`version 1 → 2`);
    expect(message).toContain(
      `--launch-template id=${p.launchTemplateId},version=1`
    );
  });

  it('grows only /dev/xvdb on a Bottlerocket node group', async () => {
    // Prepare
    const { p, request } = await scenario('bottlerocket-mng', {
      amiFamily: 'bottlerocket',
      rootVolumeGiB: 4,
      dataVolumeGiB: 20,
      nodegroup: { kind: 'managed', name: 'gpu-br' },
    });

    // Act
    const emitted = await rollVolume(request, LIVE, deps());

    // Assess
    const v = await versions(p.launchTemplateId);
    const [os1, data1] = v.get(1)?.BlockDeviceMappings ?? [];
    expect(v.get(2)?.BlockDeviceMappings).toEqual([
      os1,
      { ...data1, Ebs: { ...data1?.Ebs, VolumeSize: 100 } },
    ]);
    expect(without(v.get(2), 'BlockDeviceMappings')).toEqual(
      without(v.get(1), 'BlockDeviceMappings')
    );
    expect(text(emitted)).toContain('/dev/xvdb 20 GiB → 100 GiB');
  });

  it('refreshes a self-managed group to the new version, leaving the group for Auto Scaling to update', async () => {
    // Prepare
    const { p, request } = await scenario('self-managed', {
      amiFamily: 'al2',
      rootVolumeGiB: 50,
      nodegroup: { kind: 'self-managed', name: 'cpu-asg' },
    });

    // Act
    const emitted = await rollVolume(request, LIVE, deps());

    // Assess
    const v = await versions(p.launchTemplateId);
    expectOnlyRootGrown(v.get(1), v.get(2), 100);
    const group = (
      await autoscaling.send(
        new DescribeAutoScalingGroupsCommand({
          AutoScalingGroupNames: ['cpu-asg'],
        })
      )
    ).AutoScalingGroups?.[0];
    // Auto Scaling saves the desired configuration on the group when the
    // refresh succeeds (moto runs none); until then a rollback has the
    // old version to return to.
    expect(group?.LaunchTemplate).toMatchObject({
      LaunchTemplateId: p.launchTemplateId,
      Version: '1',
    });
    expect(refreshes.at(-1)).toMatchObject({
      AutoScalingGroupName: 'cpu-asg',
      Strategy: 'Rolling',
      DesiredConfiguration: {
        LaunchTemplate: { LaunchTemplateId: p.launchTemplateId, Version: '2' },
      },
      Preferences: {
        MinHealthyPercentage: 90,
        SkipMatching: true,
        AutoRollback: true,
      },
    });
    expect(text(emitted)).toContain(
      'aws autoscaling rollback-instance-refresh --auto-scaling-group-name cpu-asg'
    );
    expect(text(emitted)).toContain('it does not drain nodes');
  });

  it('keeps a mixed-instances group mixed in the configuration it refreshes to', async () => {
    // Prepare
    const { p, request } = await scenario('mixed', {
      amiFamily: 'al2023',
      rootVolumeGiB: 30,
      nodegroup: {
        kind: 'self-managed',
        name: 'mixed-asg',
        mixedInstanceTypes: ['g5.xlarge', 'g6.xlarge'],
      },
    });

    // Act
    await rollVolume(request, LIVE, deps());

    // Assess
    const v = await versions(p.launchTemplateId);
    expectOnlyRootGrown(v.get(1), v.get(2), 100);
    const policy = (
      await autoscaling.send(
        new DescribeAutoScalingGroupsCommand({
          AutoScalingGroupNames: ['mixed-asg'],
        })
      )
    ).AutoScalingGroups?.[0]?.MixedInstancesPolicy;
    expect(policy?.LaunchTemplate?.LaunchTemplateSpecification?.Version).toBe(
      '1'
    );
    const desired =
      refreshes.at(-1)?.DesiredConfiguration?.MixedInstancesPolicy;
    expect(desired?.LaunchTemplate?.LaunchTemplateSpecification).toEqual({
      LaunchTemplateId: p.launchTemplateId,
      Version: '2',
    });
    expect(desired?.LaunchTemplate?.Overrides).toEqual(
      policy?.LaunchTemplate?.Overrides
    );
    expect(desired?.InstancesDistribution).toEqual(
      policy?.InstancesDistribution
    );
  });

  it('changes nothing when the template already has 200 GiB', async () => {
    // Prepare
    const { p, request } = await scenario('big-already', {
      amiFamily: 'al2023',
      rootVolumeGiB: 200,
      nodegroup: { kind: 'managed', name: 'gpu-big' },
    });
    const updatesBefore = nodegroupUpdates.length;

    // Act
    const emitted = await rollVolume(request, LIVE, deps());

    // Assess
    expect((await versions(p.launchTemplateId)).size).toBe(1);
    expect(nodegroupUpdates.length).toBe(updatesBefore);
    expect(emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(text(emitted)).toContain('already gives /dev/xvda 200 GiB');
  });

  it('only tells, and writes nothing, for a Karpenter node and a diskSize node group', async () => {
    // Prepare
    const karpenter = await scenario('karpenter', {
      amiFamily: 'al2023',
      rootVolumeGiB: 20,
      nodegroup: { kind: 'karpenter', name: 'gpu-pool' },
    });
    const disk = await scenario('disksize', {
      amiFamily: 'al2023',
      rootVolumeGiB: 20,
      // As on AWS: the instance's template is EKS's own, with no opt-in.
      nodegroup: {
        kind: 'managed',
        name: 'legacy',
        diskSize: 20,
        allowRoll: false,
      },
    });
    const before = [nodegroupUpdates.length, refreshes.length];

    // Act
    const k = await rollVolume(karpenter.request, LIVE, deps());
    const d = await rollVolume(disk.request, LIVE, deps());

    // Assess
    expect((await versions(karpenter.p.launchTemplateId)).size).toBe(1);
    expect((await versions(disk.p.launchTemplateId)).size).toBe(1);
    expect([nodegroupUpdates.length, refreshes.length]).toEqual(before);
    expect(text(k)).toContain('EC2NodeClass of NodePool gpu-pool');
    expect(text(k)).toContain('volumeSize: 100Gi');
    expect(text(d)).toContain('--node-volume-size 100');
  });

  it('does not roll a group twice when a second incident comes during its rollout', async () => {
    // Prepare: two nodes of one node group; the first one's incident rolls it.
    const first = await scenario('busy', {
      amiFamily: 'al2023',
      rootVolumeGiB: 20,
      nodegroup: { kind: 'managed', name: 'gpu-busy' },
    });
    await rollVolume(first.request, LIVE, deps());
    subnet++;
    const name = `ip-10-0-${subnet}-11.ec2.internal`;
    const { Reservations } = await ec2
      .send(
        new RunInstancesCommand({
          MinCount: 1,
          MaxCount: 1,
          LaunchTemplate: {
            LaunchTemplateId: first.p.launchTemplateId,
            Version: '1',
          },
          BlockDeviceMappings: [
            { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 20 } },
          ],
          TagSpecifications: [
            {
              ResourceType: 'instance',
              Tags: [
                { Key: 'eks:cluster-name', Value: 'busy' },
                { Key: 'eks:nodegroup-name', Value: 'gpu-busy' },
              ],
            },
          ],
        })
      )
      .then((r) => ({ Reservations: [{ Instances: r.Instances }] }));
    const instanceId = Reservations[0]?.Instances?.[0]?.InstanceId as string;
    const second: VolumeRollRequestedDetail = {
      ...first.request,
      node: { name, instanceId },
      incidentId: `busy/${name}/20261120T095000Z`,
    };
    await store.openOrJoin(
      {
        key: { cluster: 'busy', node: name, scope: 'live' },
        incidentId: second.incidentId,
        status: 'open',
        openedAt: '2026-11-20T09:50:00Z',
        node: second.node,
        class: 'disk_full',
        evidence: 'no space left on device',
        // As prune-result leaves it: a bigger volume asked for.
        step: 'roll-requested',
        stepBy: 'event-prune-result',
        timeline: [],
      },
      '2026-11-20T09:50:00Z'
    );
    const updatesBefore = nodegroupUpdates.length;

    // Act
    const emitted = await rollVolume(second, LIVE, deps());

    // Assess
    expect(emitted).toEqual([]);
    expect((await versions(first.p.launchTemplateId)).size).toBe(2);
    expect(nodegroupUpdates.length).toBe(updatesBefore);
    const incident = await store.get({
      cluster: 'busy',
      node: name,
      scope: 'live',
    });
    expect(incident?.timeline.at(-1)?.detail).toBe(
      `node group gpu-busy is already rolling for ${first.request.incidentId}`
    );
  });

  it('writes nothing when the kill switch is on', async () => {
    // Prepare
    const { p, request } = await scenario('killed', {
      amiFamily: 'al2023',
      rootVolumeGiB: 20,
      nodegroup: { kind: 'managed', name: 'gpu-killed' },
    });
    const before = [nodegroupUpdates.length, refreshes.length];

    // Act
    const emitted = await rollVolume(request, OFF, deps());

    // Assess
    expect((await versions(p.launchTemplateId)).size).toBe(1);
    expect([nodegroupUpdates.length, refreshes.length]).toEqual(before);
    expect(text(emitted)).toContain('the kill switch is on');
  });
});
