import type { RolloutStatus, Rollouts } from '#core/ports.ts';

/**
 * A hand-written Rollouts: records each node group update and instance
 * refresh and returns the configured ids.
 *
 * @example
 * ```ts
 * const rollouts = new FakeRollouts();
 * rollouts.calls.updateManagedNodegroup; // [{ cluster, nodegroup, launchTemplate }]
 * ```
 */
export class FakeRollouts implements Rollouts {
  updateId = 'update-0001';
  refreshId = 'refresh-0001';
  /** What describeRollout answers, one status per call; the last repeats. */
  statuses: RolloutStatus[] = [];
  #error: Error | undefined;

  calls: {
    updateManagedNodegroup: {
      cluster: string;
      nodegroup: string;
      launchTemplate: { id: string; version: number };
    }[];
    refreshAutoScalingGroup: {
      group: string;
      launchTemplate: { id: string; version: number };
    }[];
    describeRollout: {
      kind: string;
      id: string;
      cluster: string;
      group: string;
    }[];
  } = {
    updateManagedNodegroup: [],
    refreshAutoScalingGroup: [],
    describeRollout: [],
  };

  failWith(error: Error): void {
    this.#error = error;
  }

  callCount(method: keyof FakeRollouts['calls']): number {
    return this.calls[method].length;
  }

  reset(): void {
    this.updateId = 'update-0001';
    this.refreshId = 'refresh-0001';
    this.#error = undefined;
    this.statuses = [];
    this.calls = {
      updateManagedNodegroup: [],
      refreshAutoScalingGroup: [],
      describeRollout: [],
    };
  }

  async updateManagedNodegroup(
    cluster: string,
    nodegroup: string,
    launchTemplate: { id: string; version: number }
  ): Promise<string> {
    this.calls.updateManagedNodegroup.push({
      cluster,
      nodegroup,
      launchTemplate,
    });
    if (this.#error) throw this.#error;
    return this.updateId;
  }

  async refreshAutoScalingGroup(
    group: string,
    launchTemplate: { id: string; version: number }
  ): Promise<string> {
    this.calls.refreshAutoScalingGroup.push({ group, launchTemplate });
    if (this.#error) throw this.#error;
    return this.refreshId;
  }

  async describeRollout(
    rollout: {
      kind: 'eks-nodegroup-update' | 'asg-instance-refresh';
      id: string;
    },
    where: { cluster: string; group: string }
  ): Promise<RolloutStatus> {
    this.calls.describeRollout.push({ ...rollout, ...where });
    if (this.#error) throw this.#error;
    const index =
      Math.min(this.calls.describeRollout.length, this.statuses.length) - 1;
    const status = this.statuses[index];
    if (!status) throw new Error('FakeRollouts: no status configured');
    return status;
  }
}
