import { parseArgs } from 'node:util';
import { z } from 'zod';
import { clusterName, namespaceName } from '../../events/names.ts';
import { ForwarderConfigError } from '../errors.ts';

const positiveInt = z.coerce.number().int().positive();

// An SQS queue URL: https://sqs.<region>.amazonaws.com/<account>/<name>, or
// a local endpoint's (moto) when AWS_ENDPOINT_URL points at one.
const queueUrl = z.url({ protocol: /^https?$/ });

const schema = z.strictObject({
  cluster: clusterName,
  queueUrl,
  deadLetterQueueUrl: queueUrl.optional(),
  bus: z.string().min(1).max(256),
  region: z.string().min(1),
  endpointUrl: z.url().optional(),
  kubeconfig: z.string().min(1).optional(),
  /** Seconds between sweeps; 0 turns the sweep off. */
  sweepIntervalSeconds: z.coerce.number().int().min(0).max(86_400),
  sweepQuietSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400),
  optedOutNamespaces: z.array(namespaceName),
  maxPodsPerIncident: positiveInt.max(1000),
  dryRun: z.boolean(),
  receiveWaitSeconds: z.coerce.number().int().min(0).max(20),
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65_535),
  drainTimeoutMs: positiveInt,
  logLevel: z.enum(['debug', 'info', 'warn', 'error']),
});

/** The cluster agent's settings, validated. */
export type AgentConfig = z.infer<typeof schema>;

// Setting → [flag, environment variable]; a flag wins over the variable.
const SETTINGS = {
  cluster: ['cluster', 'CLUSTER_NAME'],
  queueUrl: ['queue-url', 'QUEUE_URL'],
  deadLetterQueueUrl: ['dead-letter-queue-url', 'DEAD_LETTER_QUEUE_URL'],
  bus: ['bus', 'EVENT_BUS_NAME'],
  region: ['region', 'AWS_REGION'],
  endpointUrl: ['endpoint-url', 'AWS_ENDPOINT_URL'],
  kubeconfig: ['kubeconfig', 'KUBECONFIG'],
  sweepIntervalSeconds: ['sweep-interval-seconds', 'SWEEP_INTERVAL_SECONDS'],
  sweepQuietSeconds: ['sweep-quiet-seconds', 'SWEEP_QUIET_SECONDS'],
  optedOutNamespaces: ['opted-out-namespaces', 'OPTED_OUT_NAMESPACES'],
  maxPodsPerIncident: ['max-pods-per-incident', 'MAX_PODS_PER_INCIDENT'],
  dryRun: ['dry-run', 'DRY_RUN'],
  receiveWaitSeconds: ['receive-wait-seconds', 'RECEIVE_WAIT_SECONDS'],
  host: ['host', 'LISTEN_HOST'],
  port: ['port', 'PORT'],
  drainTimeoutMs: ['drain-timeout-ms', 'DRAIN_TIMEOUT_MS'],
  logLevel: ['log-level', 'LOG_LEVEL'],
} as const satisfies Record<keyof AgentConfig, readonly [string, string]>;

type Setting = keyof typeof SETTINGS;

const DEFAULTS: Partial<Record<Setting, string>> = {
  region: 'us-east-1',
  sweepIntervalSeconds: '120',
  sweepQuietSeconds: '900',
  optedOutNamespaces: 'kube-system',
  maxPodsPerIncident: '10',
  dryRun: 'false',
  receiveWaitSeconds: '20',
  host: '0.0.0.0',
  port: '8080',
  drainTimeoutMs: '20000',
  logLevel: 'info',
};

const BOOLEAN = /^(true|false|1|0|yes|no)$/i;

/**
 * The agent's settings, read once: flags first, then environment
 * variables, then defaults. Validated; a bad or missing value throws
 * ForwarderConfigError naming the environment variable, so a typo fails
 * at start, not at the first request.
 *
 * `OPTED_OUT_NAMESPACES` is a comma-separated list; set it to an empty
 * value to honour only the namespaces' own label or annotation.
 *
 * @example
 * ```ts
 * const config = loadAgentConfig(['--dry-run=true'], process.env);
 * config.sweepIntervalSeconds; // 120
 * ```
 */
export function loadAgentConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>
): AgentConfig {
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.values(SETTINGS).map(([flag]) => [
          flag,
          { type: 'string' as const },
        ])
      ),
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new ForwarderConfigError(`bad flags: ${String(err)}`, {
      cause: err,
    });
  }
  const given = (name: Setting): string | undefined => {
    const [flag, variable] = SETTINGS[name];
    const fromFlag = flags[flag];
    if (typeof fromFlag === 'string') return fromFlag;
    return env[variable];
  };
  const value = (name: Setting): string | undefined => {
    const v = given(name);
    return v === undefined || v === '' ? DEFAULTS[name] : v;
  };
  const dryRun = value('dryRun') ?? '';
  // Given but empty means "no namespace": only the labels count then.
  const optedOut = given('optedOutNamespaces') ?? DEFAULTS.optedOutNamespaces;
  const raw: Record<Setting, unknown> = {
    cluster: value('cluster'),
    queueUrl: value('queueUrl'),
    deadLetterQueueUrl: value('deadLetterQueueUrl'),
    bus: value('bus'),
    region: value('region'),
    endpointUrl: value('endpointUrl'),
    kubeconfig: value('kubeconfig'),
    sweepIntervalSeconds: value('sweepIntervalSeconds'),
    sweepQuietSeconds: value('sweepQuietSeconds'),
    optedOutNamespaces: (optedOut ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    maxPodsPerIncident: value('maxPodsPerIncident'),
    // Left as the string when it is not a boolean: zod rejects it, named.
    dryRun: BOOLEAN.test(dryRun) ? /^(true|1|yes)$/i.test(dryRun) : dryRun,
    receiveWaitSeconds: value('receiveWaitSeconds'),
    host: value('host'),
    port: value('port'),
    drainTimeoutMs: value('drainTimeoutMs'),
    logLevel: value('logLevel'),
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => {
        const setting = String(i.path[0] ?? '') as Setting;
        const names = SETTINGS[setting];
        const where = names ? `${names[1]} (--${names[0]})` : '(settings)';
        const input = raw[setting];
        return `${where}: ${i.message}${input === undefined ? ' (not set)' : ''}`;
      })
      .join('; ');
    throw new ForwarderConfigError(`invalid agent configuration: ${problems}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/**
 * The settings as they may be logged: credentials in URLs replaced. AWS
 * credentials never enter the settings; the SDK reads them from Pod
 * Identity or IRSA.
 *
 * @example
 * ```ts
 * log.info('starting', { config: redactAgentConfig(config) });
 * ```
 */
export function redactAgentConfig(
  config: AgentConfig
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const key of [
    'endpointUrl',
    'queueUrl',
    'deadLetterQueueUrl',
  ] as const) {
    const value = config[key];
    if (value === undefined) continue;
    const url = new URL(value);
    if (url.username || url.password) {
      url.username = 'REDACTED';
      url.password = '';
    }
    out[key] = url.toString();
  }
  return out;
}
