import type { Rollouts } from '#core/ports.ts';

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
  } = { updateManagedNodegroup: [], refreshAutoScalingGroup: [] };

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
    this.calls = { updateManagedNodegroup: [], refreshAutoScalingGroup: [] };
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
}
