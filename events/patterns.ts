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

/** The stage variable the patterns hold where a name is the stage's own. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: serverless's own variable syntax, not a template literal
const STAGE = '${sls:stage}';

/**
 * The patterns as a stage's rules hold them: `${sls:stage}` replaced by the
 * stage, as serverless resolves it in the file it reads (the SSM rules
 * match only this stage's documents, `pullmedic-<stage>-…`).
 *
 * @example
 * ```ts
 * patternsFor('local').pruneResult.detail['document-name']; // [{ prefix: 'pullmedic-local-' }]
 * ```
 */
export function patternsFor(stage: string): typeof patterns {
  if (!/^[a-zA-Z0-9-]+$/.test(stage)) {
    throw new Error(`a stage is letters, digits and dashes: "${stage}"`);
  }
  return JSON.parse(JSON.stringify(patterns).replaceAll(STAGE, stage));
}

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
