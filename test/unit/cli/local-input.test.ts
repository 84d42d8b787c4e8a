import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { MAX_EVENT_DEPTH, parseEvents } from '../../../cli/local/input.ts';
import { shiftEventTimes } from '../../../events/kubernetes-event-facts.ts';

const SEED = new URL(
  '../../../events/samples/seed-incident.jsonl',
  import.meta.url
);

/** A JSON object nested `depth` levels deep: {"a":{"a":…}}. */
const nested = (depth: number) =>
  `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;

describe('Function: parseEvents', () => {
  it('dead-letters an event without involvedObject, with its line number, and keeps the rest', async () => {
    // Prepare
    const seed = (await readFile(SEED, 'utf8')).trim().split('\n');
    const noObject = JSON.parse(seed[0] as string);
    delete noObject.involvedObject;
    const input = [seed[0], JSON.stringify(noObject), seed[1]].join('\n');

    // Act
    const items = parseEvents(input);

    // Assess
    expect(items.map((i) => ('event' in i ? 'event' : i.error))).toEqual([
      'event',
      expect.stringMatching(/^not a Kubernetes Event: .*involvedObject/),
      'event',
    ]);
    expect(items[1]).toMatchObject({ line: 2, raw: JSON.stringify(noObject) });
  });

  it('dead-letters an involvedObject that is not an object', () => {
    // Act
    const [item] = parseEvents(
      JSON.stringify({ reason: 'Failed', involvedObject: 'pod/x' })
    );

    // Assess
    expect(item).toMatchObject({
      line: 1,
      error: expect.stringMatching(/involvedObject/),
    });
  });

  it('dead-letters a line nested 3,000 deep before anything recursive reads it', () => {
    // Prepare
    const deep = nested(3000);
    const input = [deep, JSON.stringify({ involvedObject: {} })].join('\n');

    // Act
    const items = parseEvents(input);

    // Assess
    expect(items[0]).toMatchObject({
      line: 1,
      error: `line is nested deeper than ${MAX_EVENT_DEPTH} levels`,
    });
    expect('event' in (items[1] as object)).toBe(true);
  });

  it('takes a line nested exactly to the limit, and refuses one level more', () => {
    // Prepare
    const atLimit = JSON.stringify({
      involvedObject: JSON.parse(nested(MAX_EVENT_DEPTH - 1)),
    });
    const over = JSON.stringify({
      involvedObject: JSON.parse(nested(MAX_EVENT_DEPTH)),
    });

    // Act
    const [ok, refused] = parseEvents(`${atLimit}\n${over}`);

    // Assess
    expect(ok && 'event' in ok).toBe(true);
    expect(refused).toMatchObject({ line: 2, error: /nested deeper/ });
  });

  it('counts depth outside strings only: brackets inside a message are text', () => {
    // Prepare
    const event = {
      involvedObject: { kind: 'Pod', name: 'p' },
      message: '{'.repeat(5000),
    };

    // Act
    const [item] = parseEvents(JSON.stringify(event));

    // Assess
    expect(item).toEqual({ line: 1, event });
  });

  it('dead-letters a deep item of a List per item, and keeps the others', () => {
    // Prepare
    const list = `{"kind":"List","items":[{"involvedObject":{}},${nested(3000)},{"reason":"x"}]}`;

    // Act
    const items = parseEvents(list);

    // Assess
    expect(
      items.map((i) => ('event' in i ? 'event' : `${i.line}: ${i.error}`))
    ).toEqual([
      'event',
      `2: item is nested deeper than ${MAX_EVENT_DEPTH} levels`,
      expect.stringMatching(/^3: not a Kubernetes Event: .*involvedObject/),
    ]);
  });

  it('gives the events it keeps to shiftTimes without overflowing the stack', () => {
    // Prepare
    const items = parseEvents(
      [nested(3000), JSON.stringify({ involvedObject: {} })].join('\n')
    );

    // Act
    const shifted = items.flatMap((i) =>
      'event' in i ? [shiftEventTimes(i.event, 1000)] : []
    );

    // Assess
    expect(shifted).toEqual([{ involvedObject: {} }]);
  });
});
