import * as z from 'zod/mini';
import {
  DEFAULT_DEADLINES,
  type Deadlines,
} from '../../core/incident-steps.ts';
import { DEFAULT_POLICY, type Policy } from '../../core/policy.ts';
import type { ControlMode } from '../../core/ports.ts';

/**
 * A setting the functions cannot run with: names the variable, what it
 * holds, and what it accepts, so a bad deploy fails at cold start with a
 * line a person can act on.
 */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** What every variable is before it is read: a string, or unset. */
const optionalString = z.optional(z.string());

/**
 * An optional variable, read by `read` (which may add issues). Two
 * schemas a setting, the string check shared: the settings are built at
 * each cold start, and every schema built costs it.
 */
const setting = <T>(
  read: (raw: string | undefined, ctx: z.core.ParsePayload) => T
) => z.pipe(optionalString, z.transform(read));

/** A number from the environment: unset or empty means the default. */
const numberSetting = (
  fallback: number,
  accepted: (value: number) => boolean,
  accepts: string
) =>
  setting((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = Number(raw);
    // Number('abc') is NaN and Number('1e999') Infinity: neither is finite.
    if (!Number.isFinite(value) || !accepted(value)) {
      ctx.issues.push({
        code: 'custom',
        message: `must be ${accepts}, got "${raw}"`,
        input: raw,
      });
      return z.NEVER;
    }
    return value;
  });

const positive = (fallback: number) =>
  numberSetting(fallback, (n) => n > 0, 'a number > 0');
const count = (fallback: number) =>
  numberSetting(
    fallback,
    (n) => Number.isSafeInteger(n) && n >= 0,
    'a whole number >= 0'
  );
const seconds = (fallback: number) =>
  numberSetting(fallback, (n) => n >= 0, 'a number of seconds >= 0');
/** A whole number in [min, max]. */
const between = (fallback: number, min: number, max: number) =>
  numberSetting(
    fallback,
    (n) => Number.isSafeInteger(n) && n >= min && n <= max,
    `a whole number from ${min} to ${max}`
  );

const text = (fallback: string) =>
  setting((v) => (v === undefined || v === '' ? fallback : v));

/** A comma-separated list; unset or empty means the default. */
const list = (fallback: string[]) =>
  setting((raw) => {
    const items = (raw ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return items.length ? items : fallback;
  });

const oneOf = <T extends string>(values: readonly T[], fallback: T) =>
  setting((raw, ctx) => {
    const value = raw === undefined || raw === '' ? fallback : raw;
    if (!(values as readonly string[]).includes(value)) {
      ctx.issues.push({
        code: 'custom',
        message: `must be ${values.join(', ')}, got "${value}"`,
        input: value,
      });
      return z.NEVER;
    }
    return value as T;
  });

const d = DEFAULT_DEADLINES;

/**
 * Every setting a function reads from its environment, in one schema,
 * read once per cold start. Names are optional here because a function
 * needs only some of them; `required` checks the ones it uses.
 */
const Settings = z.object({
  PULLMEDIC_BUS_NAME: text('pullmedic'),
  PULLMEDIC_TABLE_NAME: text(''),
  PULLMEDIC_TOPIC_ARN: text(''),
  PULLMEDIC_PRUNE_DOCUMENT: text(''),
  PULLMEDIC_PRUNE_BOTTLEROCKET_DOCUMENT: text(''),
  PULLMEDIC_CONTROL_PARAMETER: text('/pullmedic/mode'),
  PULLMEDIC_DEFAULT_MODE: oneOf<ControlMode>(
    ['live', 'dry-run', 'off'],
    'live'
  ),
  PULLMEDIC_QUEUE_URL: text(''),
  PULLMEDIC_DLQ_URL: text(''),
  // SendCommand's TimeoutSeconds: 30 s to 30 days.
  PULLMEDIC_COMMAND_TIMEOUT_SECONDS: between(600, 30, 2_592_000),
  PULLMEDIC_MIN_HEALTHY_PERCENTAGE: between(90, 0, 100),
  // Retries are the adapters' and the queues' business; the SDK's own
  // retries cover throttling within a call.
  PULLMEDIC_SDK_MAX_ATTEMPTS: between(3, 1, 10),
  // A record that failed this many receives is dead-lettered by the
  // handler itself, with the reason (the queue's maxReceiveCount).
  PULLMEDIC_MAX_RECEIVE_COUNT: between(3, 1, 1000),
  PULLMEDIC_LOOK_AGAIN_SECONDS: seconds(30),
  PULLMEDIC_LOOK_AGAIN_TIMES: count(2),
  PULLMEDIC_WATCH_DELAY_SECONDS: seconds(300),
  PULLMEDIC_WATCH_MAX_LOOKS: count(72),
  PULLMEDIC_REPEAT_QUIET_SECONDS: seconds(3600),
  PULLMEDIC_RECONCILE_BATCH: between(25, 1, 100),
  PULLMEDIC_MIN_VOLUME_GIB: positive(DEFAULT_POLICY.minVolumeGiB),
  PULLMEDIC_MAX_VOLUME_GIB: positive(DEFAULT_POLICY.maxVolumeGiB),
  PULLMEDIC_MIN_FREE_PERCENT: positive(DEFAULT_POLICY.minFreePercentAfterPrune),
  PULLMEDIC_GROWTH_FACTOR: positive(DEFAULT_POLICY.growthFactor),
  PULLMEDIC_ROLL_COOLDOWN_SECONDS: positive(DEFAULT_POLICY.rollCooldownSeconds),
  PULLMEDIC_INCIDENT_TTL_SECONDS: positive(DEFAULT_POLICY.incidentTtlSeconds),
  PULLMEDIC_NODEGROUP_ALLOWLIST: list(DEFAULT_POLICY.nodegroupAllowlist),
  PULLMEDIC_MAX_ROLLS_PER_HOUR: positive(DEFAULT_POLICY.maxRollsPerHour),
  PULLMEDIC_ROLL_APPROVAL: oneOf(
    ['auto', 'approval'],
    DEFAULT_POLICY.rollApproval
  ),
  PULLMEDIC_MAX_POD_RESTARTS: between(DEFAULT_POLICY.maxPodRestarts, 0, 1000),
  PULLMEDIC_DEADLINE_SEND_SECONDS: positive(d.sendSeconds),
  PULLMEDIC_DEADLINE_PRUNE_RESULT_SECONDS: positive(d.pruneResultSeconds),
  PULLMEDIC_DEADLINE_RECOVERY_SECONDS: positive(d.recoverySeconds),
  PULLMEDIC_DEADLINE_ROLL_START_SECONDS: positive(d.rollStartSeconds),
  PULLMEDIC_DEADLINE_WATCH_SECONDS: positive(d.watchSeconds),
  PULLMEDIC_DEADLINE_LOOK_AGAIN_SECONDS: seconds(d.lookAgainSeconds),
});

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
  /** The function's own queue and dead-letter queue (Lambda: one function per process). */
  queueUrl: string;
  dlqUrl: string;
  commandTimeoutSeconds: number;
  minHealthyPercentage: number;
  sdkMaxAttempts: number;
  maxReceiveCount: number;
  /** A BackOff that overtook its Failed event, or a replayed Pulled: how often and how many times to look again. */
  lookAgain: { seconds: number; times: number };
  /** watch-rollout: how often to look, and for how many looks. */
  watch: { delaySeconds: number; maxLooks: number };
  repeatQuietSeconds: number;
  /** The reconciler: how many due incidents one run drives at most. */
  reconcileBatch: number;
  policy: Policy;
}

/**
 * Reads and validates the configuration, or throws a ConfigError naming
 * the first variable that is wrong and what it accepts.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.env);
 * ```
 */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = Settings.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      String(issue?.path[0] ?? 'environment'),
      issue?.message ?? 'invalid'
    );
  }
  const s = parsed.data;
  if (s.PULLMEDIC_MAX_VOLUME_GIB < s.PULLMEDIC_MIN_VOLUME_GIB) {
    throw new ConfigError(
      'PULLMEDIC_MAX_VOLUME_GIB',
      `must not be below PULLMEDIC_MIN_VOLUME_GIB (${s.PULLMEDIC_MIN_VOLUME_GIB}), got ${s.PULLMEDIC_MAX_VOLUME_GIB}`
    );
  }
  const deadlines: Deadlines = {
    sendSeconds: s.PULLMEDIC_DEADLINE_SEND_SECONDS,
    pruneResultSeconds: s.PULLMEDIC_DEADLINE_PRUNE_RESULT_SECONDS,
    recoverySeconds: s.PULLMEDIC_DEADLINE_RECOVERY_SECONDS,
    rollStartSeconds: s.PULLMEDIC_DEADLINE_ROLL_START_SECONDS,
    watchSeconds: s.PULLMEDIC_DEADLINE_WATCH_SECONDS,
    lookAgainSeconds: s.PULLMEDIC_DEADLINE_LOOK_AGAIN_SECONDS,
  };
  return {
    busName: s.PULLMEDIC_BUS_NAME,
    tableName: s.PULLMEDIC_TABLE_NAME,
    topicArn: s.PULLMEDIC_TOPIC_ARN,
    pruneDocument: s.PULLMEDIC_PRUNE_DOCUMENT,
    pruneBottlerocketDocument: s.PULLMEDIC_PRUNE_BOTTLEROCKET_DOCUMENT,
    controlParameter: s.PULLMEDIC_CONTROL_PARAMETER,
    defaultMode: s.PULLMEDIC_DEFAULT_MODE,
    queueUrl: s.PULLMEDIC_QUEUE_URL,
    dlqUrl: s.PULLMEDIC_DLQ_URL,
    commandTimeoutSeconds: s.PULLMEDIC_COMMAND_TIMEOUT_SECONDS,
    minHealthyPercentage: s.PULLMEDIC_MIN_HEALTHY_PERCENTAGE,
    sdkMaxAttempts: s.PULLMEDIC_SDK_MAX_ATTEMPTS,
    maxReceiveCount: s.PULLMEDIC_MAX_RECEIVE_COUNT,
    lookAgain: {
      seconds: s.PULLMEDIC_LOOK_AGAIN_SECONDS,
      times: s.PULLMEDIC_LOOK_AGAIN_TIMES,
    },
    watch: {
      delaySeconds: s.PULLMEDIC_WATCH_DELAY_SECONDS,
      maxLooks: s.PULLMEDIC_WATCH_MAX_LOOKS,
    },
    repeatQuietSeconds: s.PULLMEDIC_REPEAT_QUIET_SECONDS,
    reconcileBatch: s.PULLMEDIC_RECONCILE_BATCH,
    policy: {
      minVolumeGiB: s.PULLMEDIC_MIN_VOLUME_GIB,
      maxVolumeGiB: s.PULLMEDIC_MAX_VOLUME_GIB,
      minFreePercentAfterPrune: s.PULLMEDIC_MIN_FREE_PERCENT,
      growthFactor: s.PULLMEDIC_GROWTH_FACTOR,
      rollCooldownSeconds: s.PULLMEDIC_ROLL_COOLDOWN_SECONDS,
      incidentTtlSeconds: s.PULLMEDIC_INCIDENT_TTL_SECONDS,
      nodegroupAllowlist: s.PULLMEDIC_NODEGROUP_ALLOWLIST,
      maxRollsPerHour: s.PULLMEDIC_MAX_ROLLS_PER_HOUR,
      rollApproval: s.PULLMEDIC_ROLL_APPROVAL,
      deadlines,
      maxPodRestarts: s.PULLMEDIC_MAX_POD_RESTARTS,
    },
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
  if (!value) throw new ConfigError(name, 'is not set');
  return value;
}
