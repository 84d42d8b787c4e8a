import patterns from './patterns.json' with { type: 'json' };

/**
 * The EventBridge pattern of every rule, by rule name. serverless.yml reads
 * the same file (`${file(./events/patterns.json):<name>}`) and the local
 * runtime creates its rules from it, so AWS and the local runtime cannot
 * route differently.
 *
 * @example
 * ```ts
 * await eventBridge.putRule({ Name: 'classify',
 *   EventPattern: JSON.stringify(RULE_PATTERNS.classify) });
 * ```
 */
export const RULE_PATTERNS = patterns;
export type RuleName = keyof typeof patterns;

/** Rules on the pullmedic bus whose target is a function's queue. */
export const FUNCTION_RULES = {
  classify: 'classify',
  remediate: 'remediate',
  'prune-result': 'pruneResult',
  'roll-volume': 'rollVolume',
  'watch-rollout': 'watchRollout',
  resolve: 'resolve',
  notify: 'notify',
} as const satisfies Record<string, RuleName>;
export type FunctionName = keyof typeof FUNCTION_RULES;
