import {
  type AutoScalingClient,
  StartInstanceRefreshCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  type EKSClient,
  UpdateNodegroupVersionCommand,
} from '@aws-sdk/client-eks';
import { AwsCallError } from '../../core/errors.ts';
import type { Rollouts } from '../../core/ports.ts';

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

  async refreshAutoScalingGroup(
    group: string,
    launchTemplate: { id: string; version: number }
  ): Promise<string> {
    try {
      const out = await this.#autoscaling.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: group,
          Strategy: 'Rolling',
          // The group adopts the desired configuration when the refresh
          // succeeds, and keeps its old one if it fails or rolls back.
          DesiredConfiguration: {
            LaunchTemplate: {
              LaunchTemplateId: launchTemplate.id,
              Version: String(launchTemplate.version),
            },
          },
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
}
