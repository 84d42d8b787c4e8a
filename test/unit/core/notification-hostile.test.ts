import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { MalformedEventError } from '#core/errors.ts';
import { isNotified } from '#core/notification.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import { RULE_PATTERNS } from '#events/patterns.ts';
import { renderUnchecked, sampleDetail } from '#test/helpers/bus.ts';

// Every text field of every notified event, from outside or not, filled
// with what would mention the channel, link, restyle or quote in Slack,
// goes through every renderer: nothing of it may reach Slack as markup.

const SAMPLES = new URL('../../../events/samples/bus/', import.meta.url);

/** Slack's control sequences, each marked with an h so it is found again. */
const HOSTILE =
  '<!here> <!channel> <@U0HOSTILE> *hbold* `htick` _hital_ ~hstrike~ <http://evil.example|hclick> & \n> hquote';

/** The detail-types the notify rule routes to notify. */
const NOTIFIED: string[] = RULE_PATTERNS.notify.$or.flatMap(
  (branch) => branch['detail-type']
);

/** The detail with every string in it replaced by `text`. */
const filled = (value: unknown, text = HOSTILE): unknown => {
  if (typeof value === 'string') return text;
  if (Array.isArray(value)) return value.map((v) => filled(v, text));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, filled(v, text)])
    );
  }
  return value;
};

async function notifiedSamples() {
  const files = (await readdir(SAMPLES)).filter((f) => f.endsWith('.json'));
  const samples = await Promise.all(
    files.map(
      async (f) =>
        JSON.parse(await readFile(new URL(f, SAMPLES), 'utf8')) as {
          'detail-type': string;
          detail: Record<string, unknown>;
        }
    )
  );
  return samples.filter((s) => NOTIFIED.includes(s['detail-type']));
}

/**
 * The variants that take each renderer's branches: every string hostile
 * (an unknown class, a status that is not Success…), and the branches a
 * hostile string cannot reach (image GC, a successful prune, with repeats).
 */
const variants = (type: string, detail: Record<string, unknown>) => {
  const all = filled(detail) as Record<string, unknown>;
  return [
    { name: 'every string', detail: all, repeats: 0 },
    { name: 'with repeats', detail: all, repeats: 2 },
    {
      // Long enough that the title and the description are cut.
      name: 'long',
      detail: filled(detail, HOSTILE.repeat(4)) as Record<string, unknown>,
      repeats: 0,
    },
    ...(type === 'Image Pull Failure Classified'
      ? [
          {
            name: 'image GC',
            detail: { ...all, class: 'image_gc_failed' },
            repeats: 0,
          },
          {
            name: 'image GC, no figures',
            detail: {
              ...all,
              class: 'image_gc_failed',
              gcWantedBytes: undefined,
            },
            repeats: 0,
          },
        ]
      : []),
    ...(type === 'Node Prune Completed'
      ? [
          {
            name: 'a Success',
            detail: { ...all, status: 'Success', outcome: 'recovering' },
            repeats: 0,
          },
        ]
      : []),
    ...(type === 'Volume Roll Completed'
      ? [{ name: 'failed', detail: { ...all, succeeded: false }, repeats: 0 }]
      : []),
  ];
};

/** What of HOSTILE would still be markup in a Slack field. */
const rawMarkup = (text: string): string[] =>
  [
    [/</, 'a raw <'],
    [/>/, 'a raw >'],
    [/&(?!amp;|lt;|gt;)/, 'a raw &'],
    [/(?<!\\)[*_~`]h(bold|tick|ital|strike)/, 'an opening mark'],
    [/h(bold|tick|ital|strike)[*_~`]/, 'a closing mark'],
    [/&amp;(amp|lt|gt);/, 'an entity escaped twice'],
    [/\\\\[*_~`]/, 'a mark escaped twice'],
  ]
    .filter(([re]) => (re as RegExp).test(text))
    .map(([, what]) => what as string);

describe('Function: renderNotification, with hostile text in every field', () => {
  it('has a sample of every detail-type the notify rule routes', async () => {
    // Act
    const types = (await notifiedSamples()).map((s) => s['detail-type']);

    // Assess
    expect(types.sort()).toEqual([...NOTIFIED].sort());
  });

  it('has a renderer for exactly the detail-types the notify rule routes', () => {
    // Act
    const rendered = Object.values(DETAIL_TYPES).filter(isNotified);

    // Assess
    expect(rendered.sort()).toEqual([...new Set(NOTIFIED)].sort());
  });

  it('refuses a detail-type on-call is not told of', () => {
    // Act
    const rendering = () =>
      renderUnchecked(
        DETAIL_TYPES.kubernetesEvent,
        sampleDetail(DETAIL_TYPES.kubernetesEvent)
      );

    // Assess
    expect(rendering).toThrow(MalformedEventError);
    expect(rendering).toThrow(
      'Kubernetes Event is not posted to on-call: notify does not handle it'
    );
  });

  it('lets no Slack markup of it through, in any field of any renderer', async () => {
    // Prepare
    const cases = (await notifiedSamples()).flatMap((s) =>
      variants(s['detail-type'], s.detail).map((v) => ({
        type: s['detail-type'],
        ...v,
      }))
    );

    // Act
    const found = cases.flatMap(({ type, name, detail, repeats }) => {
      const { chatbot } = renderUnchecked(type, detail, repeats);
      const c = chatbot as {
        content: {
          title: string;
          description: string;
          nextSteps?: string[];
          keywords: string[];
        };
        metadata: { summary: string };
      };
      const fields: [string, string][] = [
        ['title', c.content.title],
        ['summary', c.metadata.summary],
        ['description', c.content.description],
        ...(c.content.nextSteps ?? []).map((s, i): [string, string] => [
          `nextSteps[${i}]`,
          s,
        ]),
        ...c.content.keywords.map((k, i): [string, string] => [
          `keywords[${i}]`,
          k,
        ]),
      ];
      return fields.flatMap(([field, text]) => {
        if (typeof text !== 'string')
          return [`${type} (${name}) ${field}: ${String(text)}`];
        return rawMarkup(text).map(
          (what) => `${type} (${name}) ${field}: ${what}`
        );
      });
    });

    // Assess
    expect(found).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(NOTIFIED.length + 4);
  });

  it('shows the hostile text escaped once, where it is shown', async () => {
    // Prepare
    const [sample] = (await notifiedSamples()).filter(
      (s) => s['detail-type'] === 'Volume Roll Started'
    );
    const detail = filled(sample?.detail) as Record<string, unknown>;

    // Act
    const { chatbot } = renderUnchecked('Volume Roll Started', detail);
    const c = chatbot as { content: { title: string; description: string } };

    // Assess
    expect(c.content.title).toContain(
      'Rolling node group &lt;!here&gt; &lt;!channel&gt; &lt;@U0HOSTILE&gt; \\*hbold\\* \\`htick\\` \\_hital\\_ \\~hstrike\\~ &lt;http://evil.example|hclick&gt; &amp; &gt; hquote to 100 GiB volumes'
    );
    expect(c.content.description).toContain(
      '*Node group:* &lt;!here&gt; &lt;!channel&gt;'
    );
  });

  it('writes the e-mail as plain text: the hostile text as it was, no escapes', async () => {
    // Prepare
    const [sample] = (await notifiedSamples()).filter(
      (s) => s['detail-type'] === 'Volume Roll Started'
    );
    const detail = filled(sample?.detail) as Record<string, unknown>;

    // Act
    const { text } = renderUnchecked('Volume Roll Started', detail);

    // Assess
    const [title, , ...lines] = text.split('\n');
    expect(title).toBe(
      `Rolling node group ${HOSTILE.replace(/\s+/g, ' ')} to 100 GiB volumes`
    );
    // A field stays on its line: text from an event cannot start a line
    // of its own (a quote, a fake "Action:") in the e-mail either.
    const flat = HOSTILE.replace(/\s+/g, ' ');
    expect(lines).toContain(`Node group: ${flat} (${flat})`);
    expect(text).not.toMatch(/&(amp|lt|gt);|\\[*_~`]/);
  });

  it('gives SNS a subject it accepts: printable ASCII on one line, under 100 characters', async () => {
    // Prepare
    const samples = await notifiedSamples();

    // Act
    const subjects = samples.flatMap((s) =>
      variants(s['detail-type'], s.detail).map(
        ({ detail }) =>
          renderUnchecked(
            s['detail-type'],
            filled(detail, 'ünïcødé → \u0007\r\n<x> '.repeat(20)) as Record<
              string,
              unknown
            >
          ).subject
      )
    );

    // Assess
    for (const subject of subjects) {
      expect(subject).toMatch(/^[\x20-\x7e]{1,99}$/);
    }
  });
});
