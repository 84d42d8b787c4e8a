import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { classify } from '../../core/classification/classify.ts';

export const CLASSIFY_HELP = `pullmedic classify [--input FILE]

Classifies image-pull failure messages. Reads JSON Lines from FILE (default:
standard input), each either a Kubernetes Event object or
{"message": "...", "reason": "..."}, and prints one JSON line per input line
(blank lines are skipped), in order: {"class", "evidence", "causeKnown", "remedy", and what the message
tells: image, registry, layerDigest, path, runtime, filesystem}. A line that
is not a JSON object with a "message" gets {"error": "..."} on its line, and
the rest go on.

  --input FILE   read from FILE instead of standard input

Example:
  echo '{"reason":"Failed","message":"… failed to extract layer … no space left on device"}' | npx pullmedic classify
`;

/**
 * Classifies one input line; never throws.
 *
 * @example
 * ```ts
 * classifyLine('{"message":"Error: ErrImagePull"}'); // {"class":"other",…}
 * ```
 */
export function classifyLine(line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: 'not a JSON object' };
  }
  const o = value as Record<string, unknown>;
  if (typeof o.message !== 'string') {
    return { error: 'no "message" string in the object' };
  }
  return {
    ...classify({
      message: o.message,
      reason: typeof o.reason === 'string' ? o.reason : null,
      type: typeof o.type === 'string' ? o.type : null,
    }),
  };
}

/** Streams `input` line by line to `output`, one JSON line per input line. */
export async function classifyStream(
  input: Readable,
  write: (line: string) => void
): Promise<number> {
  let n = 0;
  for await (const line of createInterface({
    input,
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    if (line.trim() === '') continue;
    write(`${JSON.stringify(classifyLine(line))}\n`);
    n++;
  }
  return n;
}

/** `pullmedic classify`: returns the process exit code. */
export async function classifyCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      input: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(CLASSIFY_HELP);
    return 0;
  }
  const input = values.input ? createReadStream(values.input) : process.stdin;
  await classifyStream(input, (line) => process.stdout.write(line));
  return 0;
}
