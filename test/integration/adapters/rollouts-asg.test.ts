import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  type StartInstanceRefreshCommandInput,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsRollouts } from '../../../adapters/aws/rollouts.ts';
import { answerCommand } from '../../helpers/aws.ts';
import { startTestAws } from '../../helpers/moto.ts';

/**
 * A hand-written fake of the two calls moto lacks (StartInstanceRefresh
 * and DescribeInstanceRefreshes answer HTTP 500 there): a middleware that
 * records each refresh and reports it as in progress, while every other
 * call goes to moto.
 */
function fakeInstanceRefreshes(client: AutoScalingClient) {
  const requests: StartInstanceRefreshCommandInput[] = [];
  answerCommand(client, 'StartInstanceRefreshCommand', (input) => {
    requests.push(input as StartInstanceRefreshCommandInput);
    return { InstanceRefreshId: `ir-${requests.length}` };
  });
  answerCommand(client, 'DescribeInstanceRefreshesCommand', (input) => ({
    InstanceRefreshes: requests
      .map((r, i) => ({
        InstanceRefreshId: `ir-${i + 1}`,
        AutoScalingGroupName: r.AutoScalingGroupName,
        Status: 'InProgress',
        DesiredConfiguration: r.DesiredConfiguration,
        Preferences: r.Preferences,
      }))
      .filter(
        (r) =>
          r.AutoScalingGroupName ===
          (input as { AutoScalingGroupName?: string }).AutoScalingGroupName
      ),
  }));
  return requests;
}

describe('Class: AwsRollouts, self-managed groups (moto; StartInstanceRefresh faked)', () => {
  let aws: Awaited<ReturnType<typeof startTestAws>>;
  let autoscaling: AutoScalingClient;
  let refreshes: StartInstanceRefreshCommandInput[];
  let templateId: string;
  let subnetId: string;

  beforeAll(async () => {
    aws = await startTestAws();
    const ec2 = new EC2Client(aws.clientConfig);
    autoscaling = new AutoScalingClient(aws.clientConfig);
    refreshes = fakeInstanceRefreshes(autoscaling);
    const vpc = await ec2.send(
      new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' })
    );
    subnetId = (
      await ec2.send(
        new CreateSubnetCommand({
          VpcId: vpc.Vpc?.VpcId,
          CidrBlock: '10.1.1.0/24',
        })
      )
    ).Subnet?.SubnetId as string;
    templateId = (
      await ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: 'cpu',
          LaunchTemplateData: {
            ImageId: 'ami-12345678',
            InstanceType: 'm5.large',
          },
        })
      )
    ).LaunchTemplate?.LaunchTemplateId as string;
  });
  afterAll(async () => {
    await aws.stop();
  });

  /** A group of one instance launched from the template at `version`. */
  const createGroup = (name: string, version: string) =>
    autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: name,
        LaunchTemplate: { LaunchTemplateId: templateId, Version: version },
        MinSize: 0,
        MaxSize: 3,
        DesiredCapacity: 1,
        VPCZoneIdentifier: subnetId,
      })
    );
  const rolloutsOf = () =>
    new AwsRollouts(new EKSClient(aws.clientConfig), autoscaling, 90);

  it('refreshes a launch-template group to the pinned version, with a rollback to the version it runs', async () => {
    // Prepare
    await createGroup('cpu-asg', '1');
    const rollouts = rolloutsOf();

    // Act
    const refresh = await rollouts.refreshAutoScalingGroup(
      'cpu-asg',
      { id: templateId, version: 2 },
      { autoRollback: true }
    );
    const again = await rollouts.refreshAutoScalingGroup(
      'cpu-asg',
      { id: templateId, version: 2 },
      { autoRollback: true }
    );

    // Assess
    const group = (
      await autoscaling.send(
        new DescribeAutoScalingGroupsCommand({
          AutoScalingGroupNames: ['cpu-asg'],
        })
      )
    ).AutoScalingGroups?.[0];
    expect(group?.LaunchTemplate).toMatchObject({
      LaunchTemplateId: templateId,
      Version: '1',
    });
    expect(refresh).toEqual({ id: 'ir-1', autoRollback: true });
    // A retry finds the refresh under way and starts no second one.
    expect(again).toEqual(refresh);
    expect(
      refreshes.filter((r) => r.AutoScalingGroupName === 'cpu-asg')
    ).toHaveLength(1);
    expect(refreshes.at(-1)).toEqual({
      AutoScalingGroupName: 'cpu-asg',
      Strategy: 'Rolling',
      DesiredConfiguration: {
        LaunchTemplate: { LaunchTemplateId: templateId, Version: '2' },
      },
      Preferences: {
        MinHealthyPercentage: 90,
        SkipMatching: true,
        AutoRollback: true,
      },
    });
  });

  it('keeps a mixed-instances policy whole, overrides and distribution included', async () => {
    // Prepare
    await autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'mixed-asg',
        MixedInstancesPolicy: {
          LaunchTemplate: {
            LaunchTemplateSpecification: {
              LaunchTemplateId: templateId,
              Version: '1',
            },
            Overrides: [
              { InstanceType: 'm5.large' },
              { InstanceType: 'm6i.large' },
            ],
          },
          InstancesDistribution: {
            OnDemandBaseCapacity: 1,
            OnDemandPercentageAboveBaseCapacity: 50,
          },
        },
        MinSize: 0,
        MaxSize: 3,
        DesiredCapacity: 1,
        VPCZoneIdentifier: subnetId,
      })
    );
    const rollouts = rolloutsOf();

    // Act
    await rollouts.refreshAutoScalingGroup(
      'mixed-asg',
      { id: templateId, version: 2 },
      { autoRollback: true }
    );

    // Assess
    const group = (
      await autoscaling.send(
        new DescribeAutoScalingGroupsCommand({
          AutoScalingGroupNames: ['mixed-asg'],
        })
      )
    ).AutoScalingGroups?.[0];
    const policy = group?.MixedInstancesPolicy;
    expect(policy?.LaunchTemplate?.LaunchTemplateSpecification).toMatchObject({
      LaunchTemplateId: templateId,
      Version: '1',
    });
    expect(
      policy?.LaunchTemplate?.Overrides?.map((o) => o.InstanceType)
    ).toEqual(['m5.large', 'm6i.large']);
    expect(policy?.InstancesDistribution).toMatchObject({
      OnDemandBaseCapacity: 1,
      OnDemandPercentageAboveBaseCapacity: 50,
    });
    expect(group?.LaunchTemplate).toBeUndefined();
    // The refresh asks for the same policy with the new version (moto adds
    // the template's name to what it describes).
    const desired =
      refreshes.at(-1)?.DesiredConfiguration?.MixedInstancesPolicy;
    expect(desired?.LaunchTemplate?.LaunchTemplateSpecification).toEqual({
      LaunchTemplateId: templateId,
      Version: '2',
    });
    expect(desired?.LaunchTemplate?.Overrides).toEqual(
      policy?.LaunchTemplate?.Overrides
    );
    expect(desired?.InstancesDistribution).toEqual(
      policy?.InstancesDistribution
    );
  });

  it('asks for no rollback when the group runs $Latest, which Auto Scaling cannot roll back to', async () => {
    // Prepare
    await createGroup('latest-asg', '$Latest');
    const rollouts = rolloutsOf();

    // Act
    const refresh = await rollouts.refreshAutoScalingGroup(
      'latest-asg',
      { id: templateId, version: 2 },
      { autoRollback: true }
    );

    // Assess
    expect(refreshes.at(-1)?.Preferences?.AutoRollback).toBe(false);
    expect(refresh.autoRollback).toBe(false);
    expect(refreshes.at(-1)?.DesiredConfiguration?.LaunchTemplate).toEqual({
      LaunchTemplateId: templateId,
      Version: '2',
    });
  });
});
