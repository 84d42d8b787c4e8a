import type { RolloutStatus, Rollouts } from '#core/ports.ts';
import { wrapAwsError } from '../../adapters/aws/errors.ts';
import { FailurePlan } from './failure-plan.ts';

/**
 * A hand-written Rollouts: records each node group update and instance
 * refresh and returns the configured ids. Like EKS, a clientRequestToken
 * seen before returns the update it started; like Auto Scaling, a refresh
 * to the same version not yet ended is returned instead of a second one.
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
  /** Whether a refresh could roll back (the group runs a numbered version). */
  canRollBack = true;
  readonly failures = new FailurePlan<
    'updateManagedNodegroup' | 'refreshAutoScalingGroup' | 'describeRollout'
  >();
  readonly lostResponses = new FailurePlan<
    'updateManagedNodegroup' | 'refreshAutoScalingGroup'
  >();
  #updates = new Map<string, string>();
  #refreshes: {
    group: string;
    version: string;
    id: string;
    autoRollback: boolean;
  }[] = [];

  calls: {
    updateManagedNodegroup: {
      cluster: string;
      nodegroup: string;
      launchTemplate: { id: string; version: number };
      clientRequestToken: string;
    }[];
    refreshAutoScalingGroup: {
      group: string;
      launchTemplate: { id: string; version: number };
      autoRollback: boolean;
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
    this.failures.always('updateManagedNodegroup', error);
    this.failures.always('refreshAutoScalingGroup', error);
    this.failures.always('describeRollout', error);
  }

  /** How many distinct rollouts were started. */
  started(): number {
    return this.#updates.size + this.#refreshes.length;
  }

  callCount(method: keyof FakeRollouts['calls']): number {
    return this.calls[method].length;
  }

  reset(): void {
    this.updateId = 'update-0001';
    this.refreshId = 'refresh-0001';
    this.canRollBack = true;
    this.failures.reset();
    this.lostResponses.reset();
    this.#updates.clear();
    this.#refreshes = [];
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
    launchTemplate: { id: string; version: number },
    clientRequestToken: string
  ): Promise<string> {
    this.calls.updateManagedNodegroup.push({
      cluster,
      nodegroup,
      launchTemplate,
      clientRequestToken,
    });
    this.#throwIfFailing('updateManagedNodegroup');
    const key = `${cluster}/${nodegroup}#${clientRequestToken}`;
    const id = this.#updates.get(key) ?? this.updateId;
    this.#updates.set(key, id);
    const lost = this.lostResponses.take('updateManagedNodegroup');
    if (lost) throw wrapAwsError('updating the node group (in memory)', lost);
    return id;
  }

  async refreshAutoScalingGroup(
    group: string,
    launchTemplate: { id: string; version: number },
    options: { autoRollback: boolean }
  ): Promise<{ id: string; autoRollback: boolean }> {
    this.calls.refreshAutoScalingGroup.push({
      group,
      launchTemplate,
      autoRollback: options.autoRollback,
    });
    this.#throwIfFailing('refreshAutoScalingGroup');
    const version = `${launchTemplate.id}#${launchTemplate.version}`;
    let refresh = this.#refreshes.find(
      (r) => r.group === group && r.version === version
    );
    if (refresh === undefined) {
      refresh = {
        group,
        version,
        id: this.refreshId,
        autoRollback: options.autoRollback && this.canRollBack,
      };
      this.#refreshes.push(refresh);
    }
    const lost = this.lostResponses.take('refreshAutoScalingGroup');
    if (lost) throw wrapAwsError('starting a refresh (in memory)', lost);
    return { id: refresh.id, autoRollback: refresh.autoRollback };
  }

  #throwIfFailing(
    method:
      | 'updateManagedNodegroup'
      | 'refreshAutoScalingGroup'
      | 'describeRollout'
  ): void {
    const error = this.failures.take(method);
    if (error) throw wrapAwsError(`${method} (in memory)`, error);
  }

  async describeRollout(
    rollout: {
      kind: 'eks-nodegroup-update' | 'asg-instance-refresh';
      id: string;
    },
    where: { cluster: string; group: string }
  ): Promise<RolloutStatus> {
    this.calls.describeRollout.push({ ...rollout, ...where });
    this.#throwIfFailing('describeRollout');
    const index =
      Math.min(this.calls.describeRollout.length, this.statuses.length) - 1;
    const status = this.statuses[index];
    if (!status) throw new Error('FakeRollouts: no status configured');
    return status;
  }
}
