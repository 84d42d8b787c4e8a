import { PruneReport } from '../events/schemas.ts';

/** The prefix of the one result line the prune document prints. */
export const PRUNE_RESULT_PREFIX = 'PULLMEDIC_PRUNE_RESULT ';

/**
 * Reads the prune document's result line out of the command's output (the
 * last such line wins). Undefined when there is none or it does not parse:
 * the caller then treats the prune as failed.
 *
 * @example
 * ```ts
 * parsePruneReport('…\nPULLMEDIC_PRUNE_RESULT {"v":1,…}\n');
 * ```
 */
export function parsePruneReport(stdout: string): PruneReport | undefined {
  const lines = stdout.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] as string).trim();
    if (!line.startsWith(PRUNE_RESULT_PREFIX)) continue;
    try {
      const parsed = PruneReport.safeParse(
        JSON.parse(line.slice(PRUNE_RESULT_PREFIX.length))
      );
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
