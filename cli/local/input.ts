import { readFile } from 'node:fs/promises';
import { isRecord } from '../../events/json.ts';

/** One line of input: the event, or why it is not one. */
export type InputItem =
  | { line: number; event: Record<string, unknown> }
  | { line: number; error: string; raw: string };

/**
 * How deep an input event may nest. A core/v1 Event nests a few levels (its
 * managedFields a few more); nothing deeper is an event, and structuredClone,
 * zod and the SDK's serialiser all recurse: 3,000 levels overflow the stack.
 */
export const MAX_EVENT_DEPTH = 64;

/**
 * Whether JSON text nests objects and arrays deeper than `max`, counting
 * brackets outside strings. One pass, no recursion, stops at the first
 * level too deep: it runs before JSON.parse sees the line.
 */
const textNestsDeeper = (text: string, max: number): boolean => {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (++depth > max) return true;
    } else if (c === '}' || c === ']') depth--;
  }
  return false;
};

/**
 * Whether a parsed value nests deeper than `max` (the value itself is level
 * 1). Iterative, with an explicit stack, so a deep value cannot overflow it.
 */
const valueNestsDeeper = (value: unknown, max: number): boolean => {
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth] = top;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
};

/**
 * Why a parsed value is not an event the runtime can feed, or undefined.
 * The classify function judges the rest (and dead-letters what its
 * contract refuses); this is what the runtime itself reads: the kubelet
 * stand-in and the timeline read `involvedObject`.
 */
const notAnEvent = (value: unknown, what: 'line' | 'item') => {
  if (!isRecord(value)) return `${what} is JSON but not an object`;
  if (!isRecord(value.involvedObject))
    return 'not a Kubernetes Event: involvedObject is missing or not an object';
  return undefined;
};

/** One parsed value as an input item: the event, or why it is not one. */
const itemOf = (
  line: number,
  value: unknown,
  raw: () => string,
  what: 'line' | 'item'
): InputItem => {
  const error = valueNestsDeeper(value, MAX_EVENT_DEPTH)
    ? `${what} is nested deeper than ${MAX_EVENT_DEPTH} levels`
    : notAnEvent(value, what);
  return error === undefined
    ? { line, event: value as Record<string, unknown> }
    : { line, error, raw: raw() };
};

/** An item of a document as text, for its dead letter. */
const printable = (item: unknown): string => {
  try {
    return JSON.stringify(item);
  } catch (err) {
    // JSON.stringify recurses: an item deep enough overflows it.
    return `(not printable: ${(err as Error).message})`;
  }
};

/**
 * Reads events from a file: JSON Lines (one Event a line), or one JSON
 * document (an array, or a List as `kubectl get events -o json` prints).
 * Lines that are not events are kept, with the line number and the
 * reason, so nothing is dropped silently and one bad line never stops the
 * run: not JSON, not an object, no involvedObject, or nested deeper than
 * {@link MAX_EVENT_DEPTH}.
 *
 * @example
 * ```ts
 * const items = await readEvents('events/samples/seed-incident.jsonl');
 * ```
 */
export async function readEvents(path: string): Promise<InputItem[]> {
  const text = await readFile(path, 'utf8');
  return parseEvents(text);
}

/**
 * {@link readEvents} on text already read.
 *
 * @example
 * ```ts
 * parseEvents('{"involvedObject":{"kind":"Pod","name":"p"}}\n{oops');
 * // [{ line: 1, event: {…} }, { line: 2, error: 'line is not JSON: …', raw: '{oops' }]
 * ```
 */
export function parseEvents(text: string): InputItem[] {
  const trimmed = text.trim();
  if (
    trimmed.startsWith('[') ||
    /^\{\s*"(apiVersion|kind|items)"/.test(trimmed)
  ) {
    try {
      // V8's JSON.parse does not recurse, so a deep document parses; each
      // item's depth is checked before anything else reads it.
      const doc: unknown = JSON.parse(trimmed);
      const items = Array.isArray(doc)
        ? doc
        : isRecord(doc) && Array.isArray(doc.items)
          ? doc.items
          : undefined;
      if (items) {
        return items.map((item, i) =>
          itemOf(i + 1, item, () => printable(item), 'item')
        );
      }
    } catch {
      // Not one document: read it as JSON Lines below.
    }
  }
  const out: InputItem[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    if (textNestsDeeper(raw, MAX_EVENT_DEPTH)) {
      out.push({
        line: i + 1,
        error: `line is nested deeper than ${MAX_EVENT_DEPTH} levels`,
        raw,
      });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      out.push({
        line: i + 1,
        error: `line is not JSON: ${(err as Error).message}`,
        raw,
      });
      return;
    }
    out.push(itemOf(i + 1, value, () => raw, 'line'));
  });
  return out;
}
