import {
  type AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  type DesiredConfiguration,
  type MixedInstancesPolicy,
  StartInstanceRefreshCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeUpdateCommand,
  type EKSClient,
  UpdateNodegroupVersionCommand,
} from '@aws-sdk/client-eks';
import { AwsCallError } from '../../core/errors.ts';
import type { RolloutStatus, Rollouts } from '../../core/ports.ts';

/** Instance refresh states that end it (Baking and Rollback*InProgress do not). */
const ASG_DONE = new Set([
  'Successful',
  'Failed',
  'Cancelled',
  'RollbackFailed',
  'RollbackSuccessful',
]);

/**
 * Starts node group rollouts: EKS UpdateNodegroupVersion for managed node
 * groups (it drains nodes and respects PodDisruptionBudgets), an Auto
 * Scaling instance refresh for self-managed groups.
 *
 * @example
 * ```ts
 * const rollouts = new AwsRollouts(eks, autoscaling, 90);
 * await rollouts.updateManagedNodegroup('prod', 'gpu', { id: 'lt-…', version: 2 });
 * ```
 */
export class AwsRollouts implements Rollouts {
  readonly #eks: EKSClient;
  readonly #autoscaling: AutoScalingClient;
  readonly #minHealthyPercentage: number;

  constructor(
    eks: EKSClient,
    autoscaling: AutoScalingClient,
    minHealthyPercentage: number
  ) {
    this.#eks = eks;
    this.#autoscaling = autoscaling;
    this.#minHealthyPercentage = minHealthyPercentage;
  }

  async updateManagedNodegroup(
    cluster: string,
    nodegroup: string,
    launchTemplate: { id: string; version: number }
  ): Promise<string> {
    try {
      const out = await this.#eks.send(
        new UpdateNodegroupVersionCommand({
          clusterName: cluster,
          nodegroupName: nodegroup,
          // A pinned version number, never $Latest: what rolls is what we planned.
          launchTemplate: {
            id: launchTemplate.id,
            version: String(launchTemplate.version),
          },
          // The same template version never starts two updates.
          clientRequestToken: `pullmedic-${launchTemplate.id}-${launchTemplate.version}`,
        })
      );
      return out.update?.id ?? 'unknown';
    } catch (err) {
      throw new AwsCallError(`updating node group ${nodegroup}`, {
        cause: err,
      });
    }
  }

  async describeRollout(
    rollout: {
      kind: 'eks-nodegroup-update' | 'asg-instance-refresh';
      id: string;
    },
    where: { cluster: string; group: string }
  ): Promise<RolloutStatus> {
    try {
      if (rollout.kind === 'eks-nodegroup-update') {
        const out = await this.#eks.send(
          new DescribeUpdateCommand({
            name: where.cluster,
            nodegroupName: where.group,
            updateId: rollout.id,
          })
        );
        const status = out.update?.status ?? 'Unknown';
        return {
          status,
          done: status !== 'InProgress',
          succeeded: status === 'Successful',
          errors: (out.update?.errors ?? []).map((e) =>
            `${e.errorCode ?? 'Error'}: ${e.errorMessage ?? ''}`.trim()
          ),
        };
      }
      const out = await this.#autoscaling.send(
        new DescribeInstanceRefreshesCommand({
          AutoScalingGroupName: where.group,
          InstanceRefreshIds: [rollout.id],
        })
      );
      const refresh = out.InstanceRefreshes?.[0];
      const status = refresh?.Status ?? 'Unknown';
      return {
        status,
        done: ASG_DONE.has(status),
        succeeded: status === 'Successful',
        errors:
          refresh?.StatusReason && status !== 'Successful'
            ? [refresh.StatusReason]
            : [],
      };
    } catch (err) {
      throw new AwsCallError(`reading ${rollout.kind} ${rollout.id}`, {
        cause: err,
      });
    }
  }

  async refreshAutoScalingGroup(
    group: string,
    launchTemplate: { id: string; version: number }
  ): Promise<string> {
    try {
      const desired = await this.#pointGroupAt(group, launchTemplate);
      const out = await this.#autoscaling.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: group,
          Strategy: 'Rolling',
          // The same configuration the group now has: SkipMatching then
          // replaces exactly the instances launched from older versions.
          DesiredConfiguration: desired,
          Preferences: {
            MinHealthyPercentage: this.#minHealthyPercentage,
            SkipMatching: true,
            AutoRollback: true,
          },
        })
      );
      return out.InstanceRefreshId ?? 'unknown';
    } catch (err) {
      throw new AwsCallError(`starting an instance refresh of ${group}`, {
        cause: err,
      });
    }
  }

  /**
   * Points the group at the pinned version, in its launch template or, for
   * a mixed-instances group, in its MixedInstancesPolicy (kept whole: an
   * update without it would drop it). Returns the configuration to refresh to.
   */
  async #pointGroupAt(
    group: string,
    launchTemplate: { id: string; version: number }
  ): Promise<DesiredConfiguration> {
    const spec = {
      LaunchTemplateId: launchTemplate.id,
      Version: String(launchTemplate.version),
    };
    const out = await this.#autoscaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] })
    );
    const asg = out.AutoScalingGroups?.[0];
    if (!asg) throw new Error(`no Auto Scaling group named ${group}`);
    const mixed = asg.MixedInstancesPolicy;
    if (mixed?.LaunchTemplate) {
      const policy: MixedInstancesPolicy = {
        ...mixed,
        LaunchTemplate: {
          ...mixed.LaunchTemplate,
          LaunchTemplateSpecification: spec,
        },
      };
      await this.#autoscaling.send(
        new UpdateAutoScalingGroupCommand({
          AutoScalingGroupName: group,
          MixedInstancesPolicy: policy,
        })
      );
      return { MixedInstancesPolicy: policy };
    }
    await this.#autoscaling.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: group,
        LaunchTemplate: spec,
      })
    );
    return { LaunchTemplate: spec };
  }
}
