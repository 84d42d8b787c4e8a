import {
  type AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  type DesiredConfiguration,
  type MixedInstancesPolicy,
  StartInstanceRefreshCommand,
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
      const { desired, canRollBack } = await this.#desiredConfiguration(
        group,
        launchTemplate
      );
      const out = await this.#autoscaling.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: group,
          Strategy: 'Rolling',
          // The group itself is left as it is: Auto Scaling saves the
          // desired configuration on the group when the refresh succeeds,
          // and a rollback returns to the configuration the group had
          // before it started (updating the group first would leave a
          // rollback nothing to return to). SkipMatching replaces exactly
          // the instances that do not match it.
          DesiredConfiguration: desired,
          Preferences: {
            MinHealthyPercentage: this.#minHealthyPercentage,
            SkipMatching: true,
            // Auto Scaling refuses a rollback to $Latest or $Default.
            AutoRollback: canRollBack,
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
   * The group's configuration with the pinned version: in its launch
   * template or, for a mixed-instances group, in its MixedInstancesPolicy
   * (kept whole: a desired configuration without it would drop it). A
   * rollback is possible when the group runs a numbered version.
   */
  async #desiredConfiguration(
    group: string,
    launchTemplate: { id: string; version: number }
  ): Promise<{ desired: DesiredConfiguration; canRollBack: boolean }> {
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
    const current =
      mixed?.LaunchTemplate?.LaunchTemplateSpecification?.Version ??
      asg.LaunchTemplate?.Version;
    const canRollBack = /^\d+$/.test(current ?? '');
    if (mixed?.LaunchTemplate) {
      const policy: MixedInstancesPolicy = {
        ...mixed,
        LaunchTemplate: {
          ...mixed.LaunchTemplate,
          LaunchTemplateSpecification: spec,
        },
      };
      return { desired: { MixedInstancesPolicy: policy }, canRollBack };
    }
    return { desired: { LaunchTemplate: spec }, canRollBack };
  }
}
