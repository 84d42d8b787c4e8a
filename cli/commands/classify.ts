import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { classify, explain } from '../../core/classification/classify.ts';
import type {
  ClassifierInput,
  Explanation,
  StorageArea,
} from '../../core/classification/types.ts';

export const CLASSIFY_HELP = `pullmedic classify [--input FILE] [--explain]

Classifies image-pull failure messages. Reads JSON Lines from FILE (default:
standard input), each either a Kubernetes Event object or
{"message": "...", "reason": "..."}, and prints one JSON line per input line
(blank lines are skipped), in order: {"class", "evidence", "causeKnown", "remedy", and what the message
tells: image, registry, layerDigest, path, runtime, filesystem}. A line that
is not a JSON object with a "message" gets {"error": "..."} on its line, and
the rest go on.

  --input FILE   read from FILE instead of standard input
  --explain      instead of JSON, print for each line the verdict, the rule
                 that decided it and the evidence it read: the pull evidence
                 (a pull wording, or a pull word before a path in a runtime's
                 image store), the ENOSPC wording, where the write failed and
                 what part of the node that is, and what ruled disk_full out

Examples:
  echo '{"reason":"Failed","message":"… failed to extract layer … no space left on device"}' | npx pullmedic classify
  npx pullmedic classify --explain --input events/samples/seed-incident.jsonl

  --explain prints, for the seed incident's Failed event (line 6 of the file):
    line 6: disk_full (prune), rule enospc/pull-phrase
      pull evidence: "Failed to pull image" (a pull wording)
      ENOSPC:        "no space left on device"
      write failed:  /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/360/fs/… (containerd snapshots)
`;

/** A line's input, or why it has none. */
function parseLine(line: string): ClassifierInput | { error: string } {
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
    message: o.message,
    reason: typeof o.reason === 'string' ? o.reason : null,
    type: typeof o.type === 'string' ? o.type : null,
  };
}

/**
 * Classifies one input line; never throws.
 *
 * @example
 * ```ts
 * classifyLine('{"message":"Error: ErrImagePull"}'); // {"class":"other",…}
 * ```
 */
export function classifyLine(line: string): Record<string, unknown> {
  const input = parseLine(line);
  return 'error' in input ? input : { ...classify(input) };
}

const AREA_NAMES: Readonly<Record<StorageArea, string>> = {
  containerd_content: 'containerd content store',
  containerd_metadata: 'containerd metadata store',
  containerd_snapshots: 'containerd snapshots',
  containerd_unpack: "containerd's unpack mounts",
  docker_layers: "Docker's layer store",
  storage_layers: 'containers/storage layers',
  blob_staging: 'blob staging in /var/tmp',
  kernel: 'a kernel filesystem',
  shared_memory: 'shared memory',
  kubelet: "the kubelet's pod directories",
  runtime_state: "the runtime's container state",
  other: 'not a runtime store',
};

const PULL_KINDS: Readonly<Record<'phrase' | 'pull-word', string>> = {
  phrase: 'a pull wording',
  'pull-word': "a pull word before a path in a runtime's image store",
};

/** The evidence lines of an explanation, labels padded to one column. */
function evidenceLines(
  explanation: Explanation,
  evidence: string | null
): string[] {
  const lines: [string, string][] = [];
  const { pull, enospc, path, area, veto } = explanation;
  if (enospc === undefined && evidence !== null) {
    lines.push(['evidence', JSON.stringify(evidence)]);
  }
  if (pull) {
    lines.push([
      'pull evidence',
      `${JSON.stringify(pull.text)} (${PULL_KINDS[pull.kind]})`,
    ]);
  }
  if (enospc !== undefined) lines.push(['ENOSPC', JSON.stringify(enospc)]);
  if (path !== undefined) {
    lines.push(['write failed', `${path} (${AREA_NAMES[area ?? 'other']})`]);
  }
  if (veto !== undefined) lines.push(['ruled out by', veto]);
  return lines.map(([label, text]) => `  ${`${label}:`.padEnd(15)}${text}`);
}

/**
 * Explains one input line for a person: the verdict and its remedy, the
 * rule that decided and the evidence it read, one fact a line. Never
 * throws; a line that is not an event says why.
 *
 * @example
 * ```ts
 * explainLine('{"message":"Failed to pull image \\"a\\": 401 Unauthorized"}', 1);
 * // 'line 1: auth (notify), rule auth\n  evidence:      "Unauthorized"\n'
 * ```
 */
export function explainLine(line: string, lineNumber: number): string {
  const input = parseLine(line);
  if ('error' in input) return `line ${lineNumber}: error: ${input.error}\n`;
  const { verdict, explanation } = explain(input);
  const head = `line ${lineNumber}: ${verdict.class} (${verdict.remedy}), rule ${explanation.rule}`;
  const body = evidenceLines(explanation, verdict.evidence);
  return `${[head, ...body].join('\n')}\n`;
}

/**
 * Streams `input` line by line to `output`: one JSON line per input line,
 * or with `explain`, one block per input line naming its line number.
 */
export async function classifyStream(
  input: Readable,
  write: (line: string) => void,
  options: { explain?: boolean } = {}
): Promise<number> {
  let n = 0;
  let lineNumber = 0;
  for await (const line of createInterface({
    input,
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    lineNumber++;
    if (line.trim() === '') continue;
    write(
      options.explain
        ? explainLine(line, lineNumber)
        : `${JSON.stringify(classifyLine(line))}\n`
    );
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
      explain: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(CLASSIFY_HELP);
    return 0;
  }
  const input = values.input ? createReadStream(values.input) : process.stdin;
  await classifyStream(input, (line) => process.stdout.write(line), {
    explain: values.explain,
  });
  return 0;
}
