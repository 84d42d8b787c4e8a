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
import type { RolloutStatus, Rollouts } from '../../core/ports.ts';
import { wrapAwsError } from './errors.ts';

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
    launchTemplate: { id: string; version: number },
    clientRequestToken: string
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
          // The same request again returns the same update: a retry never
          // starts a second one.
          clientRequestToken,
        })
      );
      return out.update?.id ?? 'unknown';
    } catch (err) {
      throw wrapAwsError(`updating node group ${nodegroup}`, err);
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
      throw wrapAwsError(`reading ${rollout.kind} ${rollout.id}`, err);
    }
  }

  async refreshAutoScalingGroup(
    group: string,
    launchTemplate: { id: string; version: number },
    options: { autoRollback: boolean }
  ): Promise<{ id: string; autoRollback: boolean }> {
    try {
      // StartInstanceRefresh has no idempotency token: a retry finds the
      // refresh to this version it already started.
      const running = await this.#refreshUnderWay(group, launchTemplate);
      if (running) return running;
      const { desired, canRollBack } = await this.#desiredConfiguration(
        group,
        launchTemplate
      );
      const autoRollback = options.autoRollback && canRollBack;
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
            // Auto Scaling refuses a rollback to $Latest or $Default, and
            // to a template whose image is an SSM parameter.
            AutoRollback: autoRollback,
          },
        })
      );
      return { id: out.InstanceRefreshId ?? 'unknown', autoRollback };
    } catch (err) {
      throw wrapAwsError(`starting an instance refresh of ${group}`, err);
    }
  }

  /** A refresh of the group to exactly this version that has not ended. */
  async #refreshUnderWay(
    group: string,
    launchTemplate: { id: string; version: number }
  ): Promise<{ id: string; autoRollback: boolean } | undefined> {
    const out = await this.#autoscaling.send(
      new DescribeInstanceRefreshesCommand({
        AutoScalingGroupName: group,
        MaxRecords: 10,
      })
    );
    const found = out.InstanceRefreshes?.find((r) => {
      if (ASG_DONE.has(r.Status ?? '')) return false;
      const spec =
        r.DesiredConfiguration?.MixedInstancesPolicy?.LaunchTemplate
          ?.LaunchTemplateSpecification ??
        r.DesiredConfiguration?.LaunchTemplate;
      return (
        spec?.LaunchTemplateId === launchTemplate.id &&
        spec.Version === String(launchTemplate.version)
      );
    });
    return found?.InstanceRefreshId
      ? {
          id: found.InstanceRefreshId,
          autoRollback: found.Preferences?.AutoRollback === true,
        }
      : undefined;
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
