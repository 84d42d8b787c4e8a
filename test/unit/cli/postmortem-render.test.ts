import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import {
  escapeMarkdown,
  renderMarkdown,
} from '../../../cli/postmortem/markdown.ts';
import {
  type PostmortemReport,
  safeIncidentId,
} from '../../../cli/postmortem/model.ts';
import { terminalSummary } from '../../../cli/postmortem/summary.ts';
import { escapeXml, renderSvg } from '../../../cli/postmortem/svg.ts';

const EVIL = 'evil<script>&"x"';

/** The C0 control characters in a text, other than tab and newlines. */
const controls = (text: string): number[] =>
  [...text]
    .map((c) => c.codePointAt(0) ?? 0)
    .filter((c) => c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d);

/** A report whose every text field carries markup, as a table could. */
const hostile = (): PostmortemReport => ({
  incidentId: `prod/${EVIL}/20261120T094059Z`,
  cluster: 'prod|<b>',
  node: `node<img src=x onerror=alert(1)>`,
  instanceId: 'i-0123456789abcdef0',
  pod: 'ns/pod`rm -rf`',
  image: EVIL,
  class: 'disk_full',
  evidence: `no space left on device]](javascript:alert(1))`,
  openedAt: '2026-11-20T09:40:59.000Z',
  resolvedAt: '2026-11-20T09:43:05.000Z',
  mttrSeconds: 126,
  resolvedBy: `Pulled: ${EVIL}\n| injected | row |`,
  dryRun: false,
  actions: [`Sent the prune to ${EVIL}`],
  timeline: [
    {
      at: '2026-11-20T09:40:59.000Z',
      kind: 'kubernetes',
      label: `Warning Failed: ${EVIL}`,
      text: `Failed to pull image "${EVIL}": no space left on device\u0000\u001b[31m`,
      dryRun: false,
    },
    {
      at: '2026-11-20T09:41:02.000Z',
      kind: 'prune',
      label: 'prune sent',
      text: 'SSM SendCommand',
      dryRun: true,
    },
    {
      at: '2026-11-20T09:43:05.000Z',
      kind: 'resolved',
      label: `resolved ${EVIL}`,
      text: `Pulled ${EVIL} \uD800 lone surrogate`,
      dryRun: false,
    },
  ],
  decisions: [
    {
      at: '2026-11-20T09:41:31.000Z',
      step: 'Node Prune Completed',
      decision: 'roll',
      why: `because ${EVIL} | $x$ *bold* _it_ ~~s~~ [l](u)`,
      dryRun: false,
    },
  ],
  disk: {
    fsBytesTotal: 21474836480,
    bytesBefore: 20401094656,
    bytesAfter: 9126805504,
    bytesFreed: 11274289152,
    imagesRemoved: 3,
    pauseImageIntact: true,
    method: EVIL,
  },
  volume: {
    deviceName: '/dev/xvda',
    oldSizeGiB: 20,
    newSizeGiB: 100,
    nodegroup: EVIL,
  },
  source: `the table ${EVIL}`,
  caveats: [`caveat ${EVIL}`],
});

describe('Function: renderSvg', () => {
  it('escapes hostile text, so the picture stays one well-formed SVG', () => {
    // Prepare
    const report = hostile();

    // Act
    const svg = renderSvg(report);

    // Assess
    expect(svg).not.toMatch(/<script|<img|<b>/);
    expect(svg).toContain('evil&lt;script&gt;&amp;&quot;x&quot;');
    // Only the five entities, no raw & left (an & starts an entity or nothing).
    expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;|#39;)/);
    // No character XML 1.0 forbids (NUL, ESC, lone surrogates).
    expect(controls(svg)).toEqual([]);
    expect(svg).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(svg).toContain('\uFFFD');
    // Every tag opened is closed: resvg parses it as XML and draws it.
    const rendered = new Resvg(svg).render();
    expect(rendered.width).toBe(1000);
  });

  it('is standalone SVG 1.1: namespace, version, size and viewBox agree', () => {
    // Act
    const svg = renderSvg(hostile());

    // Assess
    const root = /<svg [^>]*>/.exec(svg)?.[0] ?? '';
    expect(root).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(root).toContain('version="1.1"');
    const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(root) ?? [];
    expect(root).toContain(`viewBox="0 0 ${w} ${h}"`);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('gives the same bytes for the same report, whatever the clock says', () => {
    // Prepare
    const a = hostile();
    const b = structuredClone(a);

    // Act
    const first = renderSvg(a);
    const second = renderSvg(b);

    // Assess
    expect(second).toBe(first);
    expect(renderSvg(a)).toBe(first);
  });

  it('draws an open incident and one without steps or disk numbers', () => {
    // Prepare
    const { resolvedAt, mttrSeconds, disk, volume, ...open } = hostile();

    // Act
    const svg = renderSvg({ ...open, timeline: [] });

    // Assess
    expect(resolvedAt && mttrSeconds && disk && volume).toBeTruthy();
    expect(svg).toContain('opened, not resolved');
    expect(svg).toContain('no steps recorded');
    expect(svg).toContain('Disk: no prune report in this source');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    expect(new Resvg(svg).render().height).toBeGreaterThan(100);
  });
});

describe('Function: renderMarkdown', () => {
  it('shows hostile text as text: no HTML, no link, no table row of its own', () => {
    // Prepare
    const report = hostile();

    // Act
    const md = renderMarkdown(report, { svgFile: 'postmortem-x.svg' });

    // Assess
    expect(md).not.toMatch(/<script|<img|<b>/);
    expect(md).toContain('evil&lt;script&gt;&amp;"x"');
    expect(md).toContain('\\]\\](javascript:alert(1))');
    expect(md).toContain(
      '\\$x\\$ \\*bold\\* \\_it\\_ \\~\\~s\\~\\~ \\[l\\](u)'
    );
    expect(md).toContain('pod\\`rm -rf\\`');
    // The resolution's newline and pipes stay inside their cell.
    const resolved = md.split('\n').find((l) => l.startsWith('| Resolved |'));
    expect(resolved).toContain('\\| injected \\| row \\|');
    expect(md).not.toMatch(/^\| injected/m);
    // Each table row has as many cells as its header.
    for (const line of md.split('\n').filter((l) => l.startsWith('| '))) {
      const cells = line.split(/(?<!\\)\|/).length;
      expect([4, 5, 6, 7]).toContain(cells);
    }
  });

  it('links the picture by a safe file name, and is deterministic', () => {
    // Prepare
    const report = hostile();

    // Act
    const md = renderMarkdown(report, { svgFile: 'a b(c).svg' });

    // Assess
    expect(md).toContain('](a_b_c_.svg)');
    expect(
      renderMarkdown(structuredClone(report), { svgFile: 'a b(c).svg' })
    ).toBe(md);
  });
});

describe('Function: escapeMarkdown and escapeXml', () => {
  it('escape the example from the brief', () => {
    // Act & Assess
    expect(escapeMarkdown(EVIL)).toBe('evil&lt;script&gt;&amp;"x"');
    expect(escapeXml(EVIL)).toBe('evil&lt;script&gt;&amp;&quot;x&quot;');
    expect(escapeXml("it's\u0007")).toBe('it&#39;s\uFFFD');
  });
});

describe('Function: safeIncidentId', () => {
  it('keeps only what is safe in a file name', () => {
    // Act & Assess
    expect(
      safeIncidentId(
        'gpu-inference/ip-10-0-1-149.ec2.internal/20261120T094059Z'
      )
    ).toBe('gpu-inference_ip-10-0-1-149.ec2.internal_20261120T094059Z');
    expect(safeIncidentId('../../etc/passwd')).toBe('etc_passwd');
    expect(safeIncidentId(`prod/${EVIL}/x`)).toBe('prod_evil_script_x_x');
    expect(safeIncidentId('///')).toBe('incident');
    expect(safeIncidentId('a'.repeat(400))).toHaveLength(150);
  });
});

describe('Function: terminalSummary', () => {
  it('prints a few lines, without the escape sequences a record could carry', () => {
    // Prepare
    const report = { ...hostile(), node: 'node\u001b]0;pwned\u0007' };

    // Act
    const text = terminalSummary(report, ['out/a.md', 'out/a.svg']);

    // Assess
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.length).toBeLessThanOrEqual(10);
    expect(controls(text)).toEqual([]);
    expect(text).toContain('node?]0;pwned?');
    expect(text).toContain('time to recovery 2m 6s');
  });
});
