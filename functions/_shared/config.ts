import { DEFAULT_POLICY, type Policy } from '../../core/policy.ts';
import type { ControlMode } from '../../core/ports.ts';

/** Everything a function reads from its environment, read once. */
export interface Config {
  busName: string;
  tableName: string;
  topicArn: string;
  pruneDocument: string;
  /** Empty when the stack deploys no Bottlerocket document. */
  pruneBottlerocketDocument: string;
  controlParameter: string;
  defaultMode: ControlMode;
  commandTimeoutSeconds: number;
  minHealthyPercentage: number;
  policy: Policy;
}

const number = (env: NodeJS.ProcessEnv, name: string, fallback: number) => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive number, got "${raw}"`);
  }
  return value;
};

/** A comma-separated list, or undefined when unset or empty. */
const list = (raw: string | undefined): string[] | undefined => {
  const items = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
};

const approval = (raw: string | undefined): Policy['rollApproval'] => {
  const value = raw ?? DEFAULT_POLICY.rollApproval;
  if (value !== 'auto' && value !== 'approval') {
    throw new Error(
      `PULLMEDIC_ROLL_APPROVAL must be auto or approval, got "${value}"`
    );
  }
  return value;
};

/**
 * Reads and validates the configuration. Names are optional here because a
 * function only needs some of them; `require` checks the ones it uses.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.env);
 * ```
 */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const mode = env.PULLMEDIC_DEFAULT_MODE ?? 'live';
  if (!['live', 'dry-run', 'off'].includes(mode)) {
    throw new Error(
      `PULLMEDIC_DEFAULT_MODE must be live, dry-run or off, got "${mode}"`
    );
  }
  const policy: Policy = {
    minVolumeGiB: number(
      env,
      'PULLMEDIC_MIN_VOLUME_GIB',
      DEFAULT_POLICY.minVolumeGiB
    ),
    maxVolumeGiB: number(
      env,
      'PULLMEDIC_MAX_VOLUME_GIB',
      DEFAULT_POLICY.maxVolumeGiB
    ),
    minFreePercentAfterPrune: number(
      env,
      'PULLMEDIC_MIN_FREE_PERCENT',
      DEFAULT_POLICY.minFreePercentAfterPrune
    ),
    growthFactor: number(
      env,
      'PULLMEDIC_GROWTH_FACTOR',
      DEFAULT_POLICY.growthFactor
    ),
    rollCooldownSeconds: number(
      env,
      'PULLMEDIC_ROLL_COOLDOWN_SECONDS',
      DEFAULT_POLICY.rollCooldownSeconds
    ),
    incidentTtlSeconds: number(
      env,
      'PULLMEDIC_INCIDENT_TTL_SECONDS',
      DEFAULT_POLICY.incidentTtlSeconds
    ),
    nodegroupAllowlist:
      list(env.PULLMEDIC_NODEGROUP_ALLOWLIST) ??
      DEFAULT_POLICY.nodegroupAllowlist,
    maxRollsPerHour: number(
      env,
      'PULLMEDIC_MAX_ROLLS_PER_HOUR',
      DEFAULT_POLICY.maxRollsPerHour
    ),
    rollApproval: approval(env.PULLMEDIC_ROLL_APPROVAL),
  };
  if (policy.maxVolumeGiB < policy.minVolumeGiB) {
    throw new Error(
      'PULLMEDIC_MAX_VOLUME_GIB must not be below PULLMEDIC_MIN_VOLUME_GIB'
    );
  }
  return {
    busName: env.PULLMEDIC_BUS_NAME ?? 'pullmedic',
    tableName: env.PULLMEDIC_TABLE_NAME ?? '',
    topicArn: env.PULLMEDIC_TOPIC_ARN ?? '',
    pruneDocument: env.PULLMEDIC_PRUNE_DOCUMENT ?? '',
    pruneBottlerocketDocument: env.PULLMEDIC_PRUNE_BOTTLEROCKET_DOCUMENT ?? '',
    controlParameter: env.PULLMEDIC_CONTROL_PARAMETER ?? '/pullmedic/mode',
    defaultMode: mode as ControlMode,
    commandTimeoutSeconds: number(
      env,
      'PULLMEDIC_COMMAND_TIMEOUT_SECONDS',
      600
    ),
    minHealthyPercentage: number(env, 'PULLMEDIC_MIN_HEALTHY_PERCENTAGE', 90),
    policy,
  };
}

/**
 * The value of a setting a function cannot run without.
 *
 * @example
 * ```ts
 * const table = required(config.tableName, 'PULLMEDIC_TABLE_NAME');
 * ```
 */
export function required(value: string, name: string): string {
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/**
 * A number >= 0 from the environment, read once by the function that needs
 * it (how long to wait, how often to look); `fallback` when unset.
 *
 * @example
 * ```ts
 * const DELAY_SECONDS = nonNegative('PULLMEDIC_WATCH_DELAY_SECONDS', 300);
 * ```
 */
export function nonNegative(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a number >= 0, got "${raw}"`);
  }
  return value;
}
