import { readFile } from 'node:fs/promises';
import { DEFAULT_FLEET, FleetFile } from '../local/fleet.ts';

/** A --fleet file that is not a fleet: the message names each bad field. */
export class FleetFileError extends Error {}

/**
 * The fleet of `--fleet FILE`, or the seed's when no file is given.
 *
 * @example
 * ```ts
 * const fleet = await readFleet(values.fleet);
 * ```
 */
export async function readFleet(path: string | undefined): Promise<FleetFile> {
  if (!path) return DEFAULT_FLEET;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new FleetFileError(
      `${path} is not a readable JSON fleet file: ${err instanceof Error ? err.message : String(err)}`
    );
  }
  const parsed = FleetFile.safeParse(json);
  if (!parsed.success) {
    throw new FleetFileError(
      `${path} is not a valid fleet file:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`
    );
  }
  return parsed.data;
}
