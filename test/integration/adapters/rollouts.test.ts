import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeUpdateCommand,
  EKSClient,
  UpdateNodegroupVersionCommand,
} from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsRollouts } from '../../../adapters/aws/rollouts.ts';
import { AwsCallError } from '../../../core/errors.ts';

// moto has neither EKS UpdateNodegroupVersion (no route, HTTP 404) nor
// Auto Scaling StartInstanceRefresh (HTTP 500), so these two calls are
// covered with aws-sdk-client-mock (DescribeAutoScalingGroups, which moto
// has, is mocked here too: the mock takes the whole client). The request shapes follow the API
// references: EKS UpdateNodegroupVersion (clusterName, nodegroupName in the
// path; launchTemplate {id, version}, clientRequestToken in the body) and
// Auto Scaling StartInstanceRefresh (AutoScalingGroupName, Strategy
// Rolling, DesiredConfiguration.LaunchTemplate, Preferences; SkipMatching
// and AutoRollback both require a DesiredConfiguration).
// One mock per client class for the whole file: aws-sdk-client-mock
// patches the class, so two mocks of it would fight.
const eks = mockClient(EKSClient);
const autoscaling = mockClient(AutoScalingClient);

describe('Class: AwsRollouts (calls moto lacks, on aws-sdk-client-mock)', () => {
  afterEach(() => {
    eks.reset();
    autoscaling.reset();
  });
  beforeEach(() => {
    // No refresh under way, unless a test says so.
    autoscaling.on(DescribeInstanceRefreshesCommand).resolves({
      InstanceRefreshes: [],
    });
  });

  describe('Method: updateManagedNodegroup', () => {
    it('pins the new template version and returns the update id', async () => {
      // Prepare
      eks
        .on(UpdateNodegroupVersionCommand)
        .resolves({ update: { id: 'upd-1', status: 'InProgress' } });
      const rollouts = new AwsRollouts(
        new EKSClient({}),
        new AutoScalingClient({}),
        90
      );

      // Act
      const id = await rollouts.updateManagedNodegroup(
        'prod',
        'gpu',
        { id: 'lt-0abc', version: 7 },
        'pullmedic-0123456789abcdef-v7'
      );

      // Assess
      expect(id).toBe('upd-1');
      const input = eks.commandCalls(UpdateNodegroupVersionCommand)[0]?.args[0]
        .input;
      expect(input).toEqual({
        clusterName: 'prod',
        nodegroupName: 'gpu',
        launchTemplate: { id: 'lt-0abc', version: '7' },
        clientRequestToken: 'pullmedic-0123456789abcdef-v7',
      });
    });

    it('wraps a refusal with the node group it was for', async () => {
      // Prepare
      eks.on(UpdateNodegroupVersionCommand).rejects(
        Object.assign(new Error('update in progress'), {
          name: 'ResourceInUseException',
        })
      );
      const rollouts = new AwsRollouts(
        new EKSClient({}),
        new AutoScalingClient({}),
        90
      );

      // Act
      const updating = rollouts.updateManagedNodegroup(
        'prod',
        'gpu',
        { id: 'lt-0abc', version: 7 },
        'pullmedic-0123456789abcdef-v7'
      );

      // Assess
      await expect(updating).rejects.toThrow(AwsCallError);
      await expect(updating).rejects.toThrow(
        /updating node group gpu failed: ResourceInUseException/
      );
    });
  });

  describe('Method: refreshAutoScalingGroup', () => {
    /** A group on version 6 of its template, as DescribeAutoScalingGroups gives it. */
    const CPU_ASG = {
      AutoScalingGroupName: 'cpu-asg',
      LaunchTemplate: { LaunchTemplateId: 'lt-0abc', Version: '6' },
      MinSize: 0,
      MaxSize: 3,
      DesiredCapacity: 1,
      DefaultCooldown: 300,
      AvailabilityZones: ['us-east-1a'],
      HealthCheckType: 'EC2',
      CreatedTime: new Date('2026-11-01T00:00:00Z'),
    };

    it('starts a rolling refresh to the pinned version, with a rollback to the one the group runs', async () => {
      // Prepare
      autoscaling
        .on(DescribeAutoScalingGroupsCommand)
        .resolves({ AutoScalingGroups: [CPU_ASG] });
      autoscaling
        .on(StartInstanceRefreshCommand)
        .resolves({ InstanceRefreshId: 'ir-0123' });
      const rollouts = new AwsRollouts(
        new EKSClient({}),
        new AutoScalingClient({}),
        90
      );

      // Act
      const refresh = await rollouts.refreshAutoScalingGroup(
        'cpu-asg',
        { id: 'lt-0abc', version: 7 },
        { autoRollback: true }
      );

      // Assess
      expect(refresh).toEqual({ id: 'ir-0123', autoRollback: true });
      const input = autoscaling.commandCalls(StartInstanceRefreshCommand)[0]
        ?.args[0].input;
      expect(input).toEqual({
        AutoScalingGroupName: 'cpu-asg',
        Strategy: 'Rolling',
        DesiredConfiguration: {
          LaunchTemplate: { LaunchTemplateId: 'lt-0abc', Version: '7' },
        },
        Preferences: {
          MinHealthyPercentage: 90,
          SkipMatching: true,
          AutoRollback: true,
        },
      });
    });

    it('returns the refresh to the same version already under way instead of starting a second (a retry)', async () => {
      // Prepare
      autoscaling.on(DescribeInstanceRefreshesCommand).resolves({
        InstanceRefreshes: [
          {
            InstanceRefreshId: 'ir-done',
            Status: 'Successful',
            DesiredConfiguration: {
              LaunchTemplate: { LaunchTemplateId: 'lt-0abc', Version: '7' },
            },
          },
          {
            InstanceRefreshId: 'ir-other',
            Status: 'InProgress',
            DesiredConfiguration: {
              LaunchTemplate: { LaunchTemplateId: 'lt-0abc', Version: '5' },
            },
          },
          {
            InstanceRefreshId: 'ir-mine',
            Status: 'InProgress',
            DesiredConfiguration: {
              MixedInstancesPolicy: {
                LaunchTemplate: {
                  LaunchTemplateSpecification: {
                    LaunchTemplateId: 'lt-0abc',
                    Version: '7',
                  },
                },
              },
            },
            Preferences: { AutoRollback: true },
          },
        ],
      });
      const rollouts = new AwsRollouts(
        new EKSClient({}),
        new AutoScalingClient({}),
        90
      );

      // Act
      const refresh = await rollouts.refreshAutoScalingGroup(
        'cpu-asg',
        { id: 'lt-0abc', version: 7 },
        { autoRollback: true }
      );

      // Assess
      expect(refresh).toEqual({ id: 'ir-mine', autoRollback: true });
      expect(autoscaling.commandCalls(StartInstanceRefreshCommand)).toEqual([]);
    });

    it('asks for no rollback when the template takes its image from an SSM parameter', async () => {
      // Prepare
      autoscaling
        .on(DescribeAutoScalingGroupsCommand)
        .resolves({ AutoScalingGroups: [CPU_ASG] });
      autoscaling
        .on(StartInstanceRefreshCommand)
        .resolves({ InstanceRefreshId: 'ir-0456' });
      const rollouts = new AwsRollouts(
        new EKSClient({}),
        new AutoScalingClient({}),
        90
      );

      // Act
      const refresh = await rollouts.refreshAutoScalingGroup(
        'cpu-asg',
        { id: 'lt-0abc', version: 7 },
        { autoRollback: false }
      );

      // Assess
      expect(refresh).toEqual({ id: 'ir-0456', autoRollback: false });
      expect(
        autoscaling.commandCalls(StartInstanceRefreshCommand)[0]?.args[0].input
          .Preferences?.AutoRollback
      ).toBe(false);
    });

    it('wraps a refusal with the group it was for', async () => {
      // Prepare
      autoscaling
        .on(DescribeAutoScalingGroupsCommand)
        .resolves({ AutoScalingGroups: [CPU_ASG] });
      autoscaling.on(StartInstanceRefreshCommand).rejects(
        Object.assign(new Error('An Instance Refresh is already in progress'), {
          name: 'InstanceRefreshInProgress',
        })
      );
      const rollouts = new AwsRollouts(
        new EKSClient({}),
        new AutoScalingClient({}),
        90
      );

      // Act
      const refreshing = rollouts.refreshAutoScalingGroup(
        'cpu-asg',
        { id: 'lt-0abc', version: 7 },
        { autoRollback: true }
      );

      // Assess
      await expect(refreshing).rejects.toThrow(
        /starting an instance refresh of cpu-asg failed: InstanceRefreshInProgress/
      );
    });
  });
});

// moto has neither DescribeUpdate nor DescribeInstanceRefreshes: on
// aws-sdk-client-mock, with the response shapes of the API references.
describe('Class: AwsRollouts, following a rollout (on aws-sdk-client-mock)', () => {
  afterEach(() => {
    eks.reset();
    autoscaling.reset();
  });
  beforeEach(() => {
    // No refresh under way, unless a test says so.
    autoscaling.on(DescribeInstanceRefreshesCommand).resolves({
      InstanceRefreshes: [],
    });
  });

  it('reads an EKS update: in progress, then failed with its errors', async () => {
    // Prepare
    eks
      .on(DescribeUpdateCommand)
      .resolvesOnce({ update: { id: 'u-1', status: 'InProgress' } })
      .resolves({
        update: {
          id: 'u-1',
          status: 'Failed',
          errors: [
            {
              errorCode: 'PodEvictionFailure',
              errorMessage: 'Reached max retries',
            },
          ],
        },
      });
    const rollouts = new AwsRollouts(
      new EKSClient({}),
      new AutoScalingClient({}),
      90
    );
    const where = { cluster: 'prod', group: 'gpu' };

    // Act
    const first = await rollouts.describeRollout(
      { kind: 'eks-nodegroup-update', id: 'u-1' },
      where
    );
    const second = await rollouts.describeRollout(
      { kind: 'eks-nodegroup-update', id: 'u-1' },
      where
    );

    // Assess
    expect(first).toEqual({
      status: 'InProgress',
      done: false,
      succeeded: false,
      errors: [],
    });
    expect(second).toEqual({
      status: 'Failed',
      done: true,
      succeeded: false,
      errors: ['PodEvictionFailure: Reached max retries'],
    });
    expect(eks.commandCalls(DescribeUpdateCommand)[0]?.args[0].input).toEqual({
      name: 'prod',
      nodegroupName: 'gpu',
      updateId: 'u-1',
    });
  });

  it('reads an instance refresh: baking is not done, successful is', async () => {
    // Prepare
    autoscaling
      .on(DescribeInstanceRefreshesCommand)
      .resolvesOnce({
        InstanceRefreshes: [{ InstanceRefreshId: 'ir-1', Status: 'Baking' }],
      })
      .resolves({
        InstanceRefreshes: [
          {
            InstanceRefreshId: 'ir-1',
            Status: 'Successful',
            StatusReason: 'done',
          },
        ],
      });
    const rollouts = new AwsRollouts(
      new EKSClient({}),
      new AutoScalingClient({}),
      90
    );
    const where = { cluster: 'prod', group: 'cpu-asg' };

    // Act
    const baking = await rollouts.describeRollout(
      { kind: 'asg-instance-refresh', id: 'ir-1' },
      where
    );
    const done = await rollouts.describeRollout(
      { kind: 'asg-instance-refresh', id: 'ir-1' },
      where
    );

    // Assess
    expect(baking.done).toBe(false);
    expect(done).toEqual({
      status: 'Successful',
      done: true,
      succeeded: true,
      errors: [],
    });
    expect(
      autoscaling.commandCalls(DescribeInstanceRefreshesCommand)[0]?.args[0]
        .input
    ).toEqual({
      AutoScalingGroupName: 'cpu-asg',
      InstanceRefreshIds: ['ir-1'],
    });
  });
});
