import { DEFAULT_DEADLINES, type Deadlines } from './incident-steps.ts';

/**
 * The remediation policy: the thresholds every decision is measured
 * against. Read once in the composition root, validated there.
 *
 * @example
 * ```ts
 * const policy = { ...DEFAULT_POLICY, minVolumeGiB: 200 };
 * ```
 */
export interface Policy {
  /** Node group volumes below this are rolled up to it (the seed's lesson). */
  minVolumeGiB: number;
  /** Never roll a volume beyond this. */
  maxVolumeGiB: number;
  /** After a prune, the containerd filesystem needs at least this free. */
  minFreePercentAfterPrune: number;
  /** A volume already at or above the minimum grows by this factor. */
  growthFactor: number;
  /** One roll per node group within this window. */
  rollCooldownSeconds: number;
  /** Incident records expire this long after their last change. */
  incidentTtlSeconds: number;
  /**
   * Node groups pullmedic may roll: `group`, `cluster/group`, with `*`
   * wildcards. Others get the change to make instead.
   */
  nodegroupAllowlist: string[];
  /** Fleet-wide: at most this many rolls start in one clock hour. */
  maxRollsPerHour: number;
  /** `auto` rolls at once; `approval` proposes and waits for an approval event. */
  rollApproval: 'auto' | 'approval';
  /** How long each step of an incident may last before the reconciler looks. */
  deadlines: Deadlines;
  /**
   * Pods of one incident the cluster agent may restart once the node has
   * room (the agent's own ceiling may be lower); 0 asks for none.
   */
  maxPodRestarts: number;
}

export const DEFAULT_POLICY: Policy = {
  minVolumeGiB: 100,
  maxVolumeGiB: 1000,
  minFreePercentAfterPrune: 20,
  growthFactor: 2,
  rollCooldownSeconds: 6 * 3600,
  incidentTtlSeconds: 30 * 24 * 3600,
  nodegroupAllowlist: ['*'],
  maxRollsPerHour: 3,
  rollApproval: 'auto',
  deadlines: DEFAULT_DEADLINES,
  maxPodRestarts: 10,
};

const wildcard = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`
  );

/**
 * Whether the allowlist lets pullmedic roll this node group.
 *
 * @example
 * ```ts
 * isRollAllowed('prod', 'gpu-a10g', ['gpu-*']); // true
 * isRollAllowed('prod', 'cpu', ['staging/*']); // false
 * ```
 */
export function isRollAllowed(
  cluster: string,
  group: string,
  allowlist: readonly string[]
): boolean {
  return allowlist.some((pattern) =>
    wildcard(pattern).test(
      pattern.includes('/') ? `${cluster}/${group}` : group
    )
  );
}

/**
 * Why a volume roll was asked for: the volume is below the group minimum
 * (the prune itself may have worked), or the prune freed too little, or it
 * failed.
 */
export type RollCause = 'below-minimum' | 'too-little-freed' | 'prune-failed';

/**
 * The size a volume rolls to: the group minimum when below it; when the
 * prune was not enough, the current size grown by the factor. Never
 * smaller than now, never above the maximum. Null when there is nothing to
 * grow: at the maximum already, or, for a below-minimum roll, at or above
 * the minimum already.
 *
 * @example
 * ```ts
 * targetVolumeGiB(20, DEFAULT_POLICY); // 100
 * targetVolumeGiB(200, DEFAULT_POLICY, 'below-minimum'); // null
 * targetVolumeGiB(1000, DEFAULT_POLICY); // null: already at the maximum
 * ```
 */
export function targetVolumeGiB(
  currentGiB: number,
  policy: Policy,
  cause: RollCause = 'too-little-freed'
): number | null {
  if (cause === 'below-minimum' && currentGiB >= policy.minVolumeGiB) {
    return null;
  }
  const wanted =
    currentGiB < policy.minVolumeGiB
      ? policy.minVolumeGiB
      : Math.ceil(currentGiB * policy.growthFactor);
  const target = Math.min(wanted, policy.maxVolumeGiB);
  return target > currentGiB ? target : null;
}
