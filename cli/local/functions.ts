import type { FunctionName } from '../../events/patterns.ts';
import type { QueueFunction } from '../../functions/_shared/eventbridge-queue-handler.ts';
import type { WiringOverrides } from '../../functions/_shared/wiring.ts';
import { LOCAL_NAMES, type LocalEnvironment } from './environment.ts';

/** The functions fed by a queue, in the order the local runtime drains them. */
export const QUEUE_FUNCTIONS: readonly FunctionName[] = [
  'classify',
  'remediate',
  'prune-result',
  'roll-volume',
  'watch-rollout',
  'resolve',
  'notify',
];

/** A function's handler as the local runtime calls it. */
export type LocalHandler = ReturnType<QueueFunction['handler']>;

/** The reconciler's handler (a schedule, not a queue, feeds it). */
export type ReconcileHandler = ReturnType<
  typeof import('../../functions/reconcile.ts')['definition']['handler']
>;

/**
 * Loads the function definitions (their modules read Powertools' settings
 * when they load, so the caller sets those first).
 *
 * @example
 * ```ts
 * const defs = await loadDefinitions();
 * ```
 */
export async function loadDefinitions() {
  const [
    classify,
    remediate,
    pruneResult,
    rollVolume,
    watch,
    resolve,
    notify,
    reconcile,
  ] = await Promise.all([
    import('../../functions/classify.ts'),
    import('../../functions/remediate.ts'),
    import('../../functions/prune-result.ts'),
    import('../../functions/roll-volume.ts'),
    import('../../functions/watch-rollout.ts'),
    import('../../functions/resolve.ts'),
    import('../../functions/notify.ts'),
    import('../../functions/reconcile.ts'),
  ]);
  const queued: Record<FunctionName, QueueFunction> = {
    classify: classify.definition,
    remediate: remediate.definition,
    'prune-result': pruneResult.definition,
    'roll-volume': rollVolume.definition,
    'watch-rollout': watch.definition,
    resolve: resolve.definition,
    notify: notify.definition,
  };
  return { queued, reconcile: reconcile.definition };
}

/**
 * The settings every function gets in the local runtime, as serverless.yml
 * gives them in AWS, with the waits that would make a local run sit idle
 * set to none (a look again, a look at a rollout).
 */
export function localSettings(env: LocalEnvironment): NodeJS.ProcessEnv {
  return {
    PULLMEDIC_BUS_NAME: LOCAL_NAMES.bus,
    PULLMEDIC_TABLE_NAME: LOCAL_NAMES.table,
    PULLMEDIC_TOPIC_ARN: env.topicArn,
    PULLMEDIC_PRUNE_DOCUMENT: LOCAL_NAMES.pruneDocument,
    PULLMEDIC_PRUNE_BOTTLEROCKET_DOCUMENT:
      LOCAL_NAMES.pruneBottlerocketDocument,
    PULLMEDIC_CONTROL_PARAMETER: LOCAL_NAMES.controlParameter,
    // moto answers 500 for what it lacks; an SDK retry would repeat side
    // effects there. The queue's redelivery is the retry.
    PULLMEDIC_SDK_MAX_ATTEMPTS: '1',
    // EKS and Auto Scaling take minutes between looks at a rollout, a
    // BackOff that overtook its Failed event waits 30 s, a prune that never
    // ran a minute: the local stand-ins answer at once.
    PULLMEDIC_WATCH_DELAY_SECONDS: '0',
    PULLMEDIC_LOOK_AGAIN_SECONDS: '0',
    PULLMEDIC_DEADLINE_LOOK_AGAIN_SECONDS: '0',
  };
}

/**
 * The overrides of one function: the local settings, its own queue and
 * dead-letter queue, the emulator's client settings and the hooks on its
 * SDK clients.
 */
export function overridesFor(
  fn: FunctionName | 'reconcile',
  env: LocalEnvironment,
  sdk: NonNullable<WiringOverrides['sdk']>,
  client: NonNullable<WiringOverrides['client']>,
  /** Settings of the run that differ from serverless.yml's (a benchmark's). */
  settings: Readonly<Record<string, string>> = {}
): WiringOverrides {
  const queues = fn === 'reconcile' ? undefined : env.queues[fn];
  return {
    env: {
      ...localSettings(env),
      ...settings,
      ...(queues
        ? {
            PULLMEDIC_QUEUE_URL: queues.url,
            PULLMEDIC_DLQ_URL: queues.dlqUrl,
          }
        : {}),
    },
    sdk,
    client,
  };
}
