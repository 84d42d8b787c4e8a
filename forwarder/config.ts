import { parseArgs } from 'node:util';
import { z } from 'zod';
import { clusterName } from '../events/names.ts';
import { ForwarderConfigError } from './errors.ts';

/**
 * The default watches: every Warning, plus the Normal reasons the pipeline
 * needs to see a pull heal (Pulled, Started) or keep failing (BackOff, which
 * kubelet reports as Normal). Field selectors cannot OR, so each is its own
 * server-side-filtered watch.
 */
export const DEFAULT_SELECTORS = [
  'type=Warning',
  'type=Normal,reason=Pulled',
  'type=Normal,reason=Started',
  'type=Normal,reason=BackOff',
] as const;

const positiveInt = z.coerce.number().int().positive();

const schema = z.strictObject({
  cluster: clusterName,
  bus: z.string().min(1).max(256),
  region: z.string().min(1),
  endpointUrl: z.url().optional(),
  kubeconfig: z.string().min(1).optional(),
  eventsApi: z.enum(['auto', 'core', 'events.k8s.io']),
  selectors: z
    .array(
      z.string().regex(/^[A-Za-z0-9.]+!?==?[^,;]*(,[A-Za-z0-9.]+!?==?[^,;]*)*$/)
    )
    .min(1),
  maxAgeSeconds: positiveInt,
  batchSize: positiveInt.max(10),
  flushMs: positiveInt,
  maxAttempts: positiveInt.max(20),
  putConcurrency: positiveInt.max(64),
  queueCapacity: positiveInt,
  queueMaxBytes: positiveInt,
  maxInFlight: positiveInt,
  checkpoint: z.boolean(),
  namespace: z.string().min(1),
  checkpointName: z.string().min(1),
  checkpointIntervalMs: positiveInt,
  checkpointKeys: positiveInt.max(20_000),
  leaderElection: z.boolean(),
  leaseName: z.string().min(1),
  identity: z.string().min(1),
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65_535),
  drainTimeoutMs: positiveInt,
  logLevel: z.enum(['debug', 'info', 'warn', 'error']),
});

/** The forwarder's settings, validated. */
export type ForwarderConfig = z.infer<typeof schema>;

// Flag name → environment variable; a flag wins over the variable.
const ENV: Record<string, string> = {
  cluster: 'CLUSTER_NAME',
  bus: 'EVENT_BUS_NAME',
  region: 'AWS_REGION',
  'endpoint-url': 'AWS_ENDPOINT_URL',
  kubeconfig: 'KUBECONFIG',
  'events-api': 'EVENTS_API',
  selectors: 'FIELD_SELECTORS',
  'max-age-seconds': 'MAX_EVENT_AGE_SECONDS',
  'batch-size': 'BATCH_SIZE',
  'flush-ms': 'FLUSH_MS',
  'max-attempts': 'MAX_ATTEMPTS',
  'put-concurrency': 'PUT_CONCURRENCY',
  'queue-capacity': 'QUEUE_CAPACITY',
  'queue-max-bytes': 'QUEUE_MAX_BYTES',
  'max-in-flight': 'MAX_IN_FLIGHT',
  checkpoint: 'CHECKPOINT',
  namespace: 'POD_NAMESPACE',
  'checkpoint-name': 'CHECKPOINT_NAME',
  'checkpoint-interval-ms': 'CHECKPOINT_INTERVAL_MS',
  'checkpoint-keys': 'CHECKPOINT_KEYS',
  'leader-election': 'LEADER_ELECTION',
  'lease-name': 'LEASE_NAME',
  identity: 'POD_NAME',
  host: 'LISTEN_HOST',
  port: 'PORT',
  'drain-timeout-ms': 'DRAIN_TIMEOUT_MS',
  'log-level': 'LOG_LEVEL',
};

const DEFAULTS: Record<string, string> = {
  region: 'us-east-1',
  'events-api': 'auto',
  selectors: DEFAULT_SELECTORS.join(';'),
  'max-age-seconds': '600',
  'batch-size': '10',
  'flush-ms': '200',
  'max-attempts': '8',
  'put-concurrency': '4',
  'queue-capacity': '10000',
  'queue-max-bytes': String(32 * 1024 * 1024),
  'max-in-flight': '200',
  checkpoint: 'true',
  namespace: 'pullmedic',
  'checkpoint-name': 'pullmedic-forwarder-checkpoint',
  'checkpoint-interval-ms': '5000',
  'checkpoint-keys': '5000',
  'leader-election': 'true',
  'lease-name': 'pullmedic-forwarder',
  host: '0.0.0.0',
  port: '8080',
  'drain-timeout-ms': '20000',
  'log-level': 'info',
};

const BOOLEAN = /^(true|false|1|0|yes|no)$/i;

/**
 * Reads the configuration once: flags first, then environment variables,
 * then defaults; validates it and throws ForwarderConfigError naming every
 * bad field, so a typo fails at start, not at the first event.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.argv.slice(2), process.env);
 * log.info('config', redactConfig(config));
 * ```
 */
export function loadConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  hostname = 'forwarder'
): ForwarderConfig {
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.keys(ENV).map((name) => [name, { type: 'string' as const }])
      ),
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new ForwarderConfigError(`bad flags: ${String(err)}`, {
      cause: err,
    });
  }
  const value = (name: string): string | undefined => {
    const flag = flags[name];
    if (typeof flag === 'string') return flag;
    const fromEnv = env[ENV[name] ?? ''];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    return DEFAULTS[name];
  };
  const bool = (name: string): boolean | string => {
    const v = value(name) ?? '';
    if (!BOOLEAN.test(v)) return v; // Left for zod to reject, with the name.
    return /^(true|1|yes)$/i.test(v);
  };
  const raw = {
    cluster: value('cluster'),
    bus: value('bus'),
    region: value('region'),
    endpointUrl: value('endpoint-url'),
    kubeconfig: value('kubeconfig'),
    eventsApi: value('events-api'),
    selectors: (value('selectors') ?? '')
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean),
    maxAgeSeconds: value('max-age-seconds'),
    batchSize: value('batch-size'),
    flushMs: value('flush-ms'),
    maxAttempts: value('max-attempts'),
    putConcurrency: value('put-concurrency'),
    queueCapacity: value('queue-capacity'),
    queueMaxBytes: value('queue-max-bytes'),
    maxInFlight: value('max-in-flight'),
    checkpoint: bool('checkpoint'),
    namespace: value('namespace'),
    checkpointName: value('checkpoint-name'),
    checkpointIntervalMs: value('checkpoint-interval-ms'),
    checkpointKeys: value('checkpoint-keys'),
    leaderElection: bool('leader-election'),
    leaseName: value('lease-name'),
    identity: value('identity') ?? env.HOSTNAME ?? hostname,
    host: value('host'),
    port: value('port'),
    drainTimeoutMs: value('drain-timeout-ms'),
    logLevel: value('log-level'),
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new ForwarderConfigError(`invalid configuration: ${problems}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/**
 * The configuration as it may be logged: credentials in the endpoint URL
 * (user:password@) are replaced. AWS credentials never enter the config;
 * the SDK reads them from Pod Identity or IRSA.
 *
 * @example
 * ```ts
 * log.info('starting', { config: redactConfig(config) });
 * ```
 */
export function redactConfig(config: ForwarderConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  if (config.endpointUrl) {
    const url = new URL(config.endpointUrl);
    if (url.username || url.password) {
      url.username = 'REDACTED';
      url.password = '';
    }
    out.endpointUrl = url.toString();
  }
  return out;
}
