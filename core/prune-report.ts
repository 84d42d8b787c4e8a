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

/**
 * Formats bytes for people: 1536 → "1.5 KiB".
 *
 * @example
 * ```ts
 * formatBytes(16 * 1024 ** 3); // '16.0 GiB'
 * ```
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const sign = bytes < 0 ? '-' : '';
  return unit === 0
    ? `${sign}${value} B`
    : `${sign}${value.toFixed(1)} ${units[unit]}`;
}
