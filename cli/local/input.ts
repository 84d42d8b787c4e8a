import { readFile } from 'node:fs/promises';

/** One line of input: the event, or why it is not one. */
export type InputItem =
  | { line: number; event: Record<string, unknown> }
  | { line: number; error: string; raw: string };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads events from a file: JSON Lines (one Event a line), or one JSON
 * document (an array, or a List as `kubectl get events -o json` prints).
 * Lines that are not JSON objects are kept, with the reason, so nothing is
 * dropped silently.
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

export function parseEvents(text: string): InputItem[] {
  const trimmed = text.trim();
  if (
    trimmed.startsWith('[') ||
    /^\{\s*"(apiVersion|kind|items)"/.test(trimmed)
  ) {
    try {
      const doc: unknown = JSON.parse(trimmed);
      const items = Array.isArray(doc)
        ? doc
        : isRecord(doc) && Array.isArray(doc.items)
          ? doc.items
          : undefined;
      if (items) {
        return items.map((item, i) =>
          isRecord(item)
            ? { line: i + 1, event: item }
            : {
                line: i + 1,
                error: 'item is not a JSON object',
                raw: JSON.stringify(item),
              }
        );
      }
    } catch {
      // Not one document: read it as JSON Lines below.
    }
  }
  const out: InputItem[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      const value: unknown = JSON.parse(raw);
      out.push(
        isRecord(value)
          ? { line: i + 1, event: value }
          : { line: i + 1, error: 'line is JSON but not an object', raw }
      );
    } catch (err) {
      out.push({
        line: i + 1,
        error: `line is not JSON: ${(err as Error).message}`,
        raw,
      });
    }
  });
  return out;
}

const TIME_FIELDS = ['firstTimestamp', 'lastTimestamp', 'eventTime'] as const;

/** The latest time an event carries, in ms, or undefined. */
export function latestTime(event: Record<string, unknown>): number | undefined {
  const times = TIME_FIELDS.map((f) => event[f])
    .filter((t): t is string => typeof t === 'string')
    .map((t) => Date.parse(t))
    .filter((t) => Number.isFinite(t));
  return times.length ? Math.max(...times) : undefined;
}

/**
 * Moves every time in the events by `shiftMs`, keeping their spacing: the
 * local runtime replays an incident as if it happened now.
 */
export function shiftTimes(
  event: Record<string, unknown>,
  shiftMs: number
): Record<string, unknown> {
  const copy: Record<string, unknown> = structuredClone(event);
  const move = (t: unknown) =>
    typeof t === 'string' && Number.isFinite(Date.parse(t))
      ? new Date(Date.parse(t) + shiftMs).toISOString().replace('.000Z', 'Z')
      : t;
  for (const f of TIME_FIELDS) if (copy[f] != null) copy[f] = move(copy[f]);
  if (isRecord(copy.metadata) && copy.metadata.creationTimestamp) {
    copy.metadata.creationTimestamp = move(copy.metadata.creationTimestamp);
  }
  return copy;
}
