import { cut, duration, formatBytes } from '../../core/words.ts';
import {
  clockTime,
  type DiskUsage,
  type PostmortemReport,
  percent,
  type RowKind,
  type TimelineRow,
  utcTime,
  type VolumeChange,
} from './model.ts';

// The timeline picture, drawn by hand: one row per step (time, a marker on
// a shared time axis, a label), the span from opened to resolved shaded
// behind the rows, and the disk before and after the prune as bars. Every
// coordinate comes from the report alone, rounded the same way each time,
// so the same report gives the same bytes.

const WIDTH = 1000;
const PAD = 16;
const PLOT_X0 = 96;
const PLOT_X1 = 396;
const LABEL_X = 412;
const ROW_H = 20;
const AXIS_Y = 132;
const ROWS_Y = 140;
/** More rows than this and Kubernetes Events are left out of the picture. */
const MAX_ROWS = 60;
const LABEL_CHARS = 82;
const FONT = 'DejaVu Sans, Verdana, Arial, Helvetica, sans-serif';
const MONO = 'DejaVu Sans Mono, Menlo, Consolas, monospace';

const COLOURS: Record<RowKind, string> = {
  kubernetes: '#57606a',
  classified: '#bf8700',
  incident: '#0969da',
  prune: '#1a7f37',
  ssm: '#8c959f',
  roll: '#8250df',
  restart: '#1f6feb',
  resolved: '#0a7f8a',
  escalated: '#cf222e',
  other: '#6e7781',
};

const KIND_NAMES: Record<RowKind, string> = {
  kubernetes: 'Kubernetes event',
  classified: 'classification',
  incident: 'incident',
  prune: 'prune',
  ssm: 'SSM',
  roll: 'volume roll',
  restart: 'pod restart',
  resolved: 'resolved',
  escalated: 'escalation',
  other: 'other',
};

/**
 * Text as XML character data or an attribute value: the five markup
 * characters as entities, and what XML 1.0 forbids (control characters,
 * lone surrogates, U+FFFE/U+FFFF) as U+FFFD, so the file always parses.
 *
 * @example
 * ```ts
 * escapeXml('evil<script>&"x"'); // 'evil&lt;script&gt;&amp;&quot;x&quot;'
 * ```
 */
export function escapeXml(text: string): string {
  return text
    .replace(
      /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu,
      '\uFFFD'
    )
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A coordinate: one decimal at most, the same string every time. */
const n = (x: number): string => String(Math.round(x * 10) / 10);

interface TextOptions {
  size?: number;
  fill?: string;
  weight?: 'bold';
  anchor?: 'start' | 'middle' | 'end';
  mono?: boolean;
}

function text(x: number, y: number, content: string, o: TextOptions = {}) {
  const attrs = [
    `x="${n(x)}"`,
    `y="${n(y)}"`,
    `font-size="${o.size ?? 12}"`,
    `fill="${o.fill ?? '#1f2328'}"`,
    ...(o.weight ? [`font-weight="${o.weight}"`] : []),
    ...(o.anchor && o.anchor !== 'start' ? [`text-anchor="${o.anchor}"`] : []),
    ...(o.mono ? [`font-family="${MONO}"`] : []),
  ];
  return `<text ${attrs.join(' ')}>${escapeXml(content)}</text>`;
}

const rect = (
  x: number,
  y: number,
  w: number,
  h: number,
  fill: string,
  extra = ''
) =>
  `<rect x="${n(x)}" y="${n(y)}" width="${n(Math.max(0, w))}" height="${n(h)}" fill="${fill}"${extra}/>`;

const line = (
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  stroke: string,
  extra = ''
) =>
  `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" stroke="${stroke}"${extra}/>`;

const TICK_STEPS_S = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
  43200, 86400, 172800, 604800,
];

/** The time axis: a scale from ms to x, and ticks at round times. */
function axisOf(times: number[]) {
  let lo = Math.min(...times);
  let hi = Math.max(...times);
  if (hi - lo < 10_000) {
    lo -= 5_000;
    hi += 5_000;
  }
  const pad = (hi - lo) * 0.04;
  lo -= pad;
  hi += pad;
  const x = (ms: number) =>
    PLOT_X0 + ((ms - lo) / (hi - lo)) * (PLOT_X1 - PLOT_X0);
  const step =
    (TICK_STEPS_S.find((s) => (hi - lo) / (s * 1000) <= 5) ?? 604800) * 1000;
  const ticks: { x: number; label: string }[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) {
    const iso = new Date(t).toISOString();
    const label =
      step < 60_000
        ? iso.slice(11, 19)
        : step < 86_400_000
          ? iso.slice(11, 16)
          : iso.slice(5, 10);
    ticks.push({ x: x(t), label });
  }
  return { x, ticks };
}

/**
 * The rows the picture shows: all of them, or, past {@link MAX_ROWS},
 * pullmedic's steps first and as many Kubernetes Events as fit, in time
 * order.
 */
function rowsToDraw(rows: TimelineRow[]): {
  shown: TimelineRow[];
  left: number;
} {
  if (rows.length <= MAX_ROWS) return { shown: rows, left: 0 };
  const ours = rows.filter((r) => r.kind !== 'kubernetes').length;
  let kubernetes = Math.max(0, MAX_ROWS - ours);
  let room = MAX_ROWS;
  const shown = rows.filter((r) => {
    if (room === 0) return false;
    if (r.kind === 'kubernetes') {
      if (kubernetes === 0) return false;
      kubernetes--;
    }
    room--;
    return true;
  });
  return { shown, left: rows.length - shown.length };
}

function header(r: PostmortemReport): string[] {
  const where = [
    `${r.class} on ${r.node}`,
    r.pod ? `pod ${r.pod}` : '',
    r.cluster ? `cluster ${r.cluster}` : '',
  ].filter(Boolean);
  const when = [
    `opened ${utcTime(r.openedAt)}`,
    r.resolvedAt ? `resolved ${utcTime(r.resolvedAt)}` : 'not resolved',
    r.mttrSeconds === undefined
      ? ''
      : `time to recovery ${duration(r.mttrSeconds)}`,
    r.replayedOn ? `replayed on ${r.replayedOn}: figures are its` : '',
  ].filter(Boolean);
  return [
    text(PAD, 30, cut(`Postmortem ${r.incidentId}`, 100), {
      size: 16,
      weight: 'bold',
    }),
    text(PAD, 52, cut(where.join(' · '), 140), { fill: '#424a53' }),
    text(PAD, 70, cut(when.join(' · '), 140), { fill: '#424a53' }),
  ];
}

/** The shaded span from opened to resolved, and its bracket with the time. */
function span(
  r: PostmortemReport,
  x: (ms: number) => number,
  bottom: number
): string[] {
  const x0 = x(Date.parse(r.openedAt));
  const x1 = r.resolvedAt ? x(Date.parse(r.resolvedAt)) : PLOT_X1;
  const colour = r.resolvedAt ? '#cf222e' : '#9a6700';
  const caption =
    r.mttrSeconds === undefined
      ? 'opened, not resolved'
      : `time to recovery ${duration(r.mttrSeconds)}`;
  const textX = Math.min(Math.max(x0, PLOT_X0), PLOT_X1 - 4);
  return [
    rect(
      x0,
      AXIS_Y,
      x1 - x0,
      bottom - AXIS_Y,
      '#ffebe9',
      ' fill-opacity="0.8"'
    ),
    line(x0, 100, x0, bottom, colour, ' stroke-dasharray="3 3"'),
    line(x1, 100, x1, bottom, colour, ' stroke-dasharray="3 3"'),
    line(x0, 104, x1, 104, colour, ' stroke-width="2"'),
    text(textX, 96, caption, {
      size: 11,
      fill: colour,
      weight: 'bold',
      ...(textX > (PLOT_X0 + PLOT_X1) / 2 ? { anchor: 'end' as const } : {}),
    }),
    text(
      LABEL_X,
      96,
      `opened ${clockTime(r.openedAt)}${r.resolvedAt ? ` → resolved ${clockTime(r.resolvedAt)}` : ''} (shaded)`,
      {
        size: 11,
        fill: colour,
      }
    ),
  ];
}

function row(
  t: TimelineRow,
  i: number,
  x: (ms: number) => number,
  oneDay: boolean
): string[] {
  const top = ROWS_Y + i * ROW_H;
  const cy = top + ROW_H / 2;
  const mx = x(Date.parse(t.at));
  const colour = COLOURS[t.kind];
  const label = `${t.label}${t.dryRun ? ' [dry-run]' : ''}`;
  return [
    '<g>',
    `<title>${escapeXml(`${t.at} ${t.text}`)}</title>`,
    ...(i % 2
      ? [
          rect(
            PAD,
            top,
            WIDTH - 2 * PAD,
            ROW_H,
            '#f6f8fa',
            ' fill-opacity="0.7"'
          ),
        ]
      : []),
    text(
      PAD + 2,
      cy + 4,
      oneDay ? clockTime(t.at) : t.at.slice(5, 16).replace('T', ' '),
      {
        size: 11,
        fill: '#57606a',
        mono: true,
      }
    ),
    line(mx + 6, cy, LABEL_X - 6, cy, '#d0d7de', ' stroke-dasharray="2 3"'),
    `<circle cx="${n(mx)}" cy="${n(cy)}" r="5" fill="${t.dryRun ? '#ffffff' : colour}" stroke="${t.dryRun ? colour : '#ffffff'}" stroke-width="1.5"/>`,
    text(LABEL_X, cy + 4, cut(label, LABEL_CHARS), {
      fill: t.kind === 'escalated' ? COLOURS.escalated : '#1f2328',
      ...(t.kind === 'resolved' || t.kind === 'escalated'
        ? { weight: 'bold' as const }
        : {}),
    }),
    '</g>',
  ];
}

function legend(kinds: RowKind[], y: number): string[] {
  const out: string[] = [];
  let x = PAD + 6;
  for (const kind of kinds) {
    out.push(
      `<circle cx="${n(x)}" cy="${n(y - 4)}" r="5" fill="${COLOURS[kind]}"/>`,
      text(x + 10, y, KIND_NAMES[kind], { size: 11, fill: '#424a53' })
    );
    x += 26 + KIND_NAMES[kind].length * 6.5;
  }
  out.push(
    `<circle cx="${n(x)}" cy="${n(y - 4)}" r="5" fill="#ffffff" stroke="#57606a" stroke-width="1.5"/>`,
    text(x + 10, y, 'dry-run (decided, not done)', {
      size: 11,
      fill: '#424a53',
    })
  );
  return out;
}

const BAR_X = 170;
const BAR_W = 420;
const BAR_H = 14;

function bar(
  y: number,
  name: string,
  share: number,
  fill: string,
  caption: string
): string[] {
  return [
    text(PAD, y + 11, name, { size: 11, fill: '#424a53' }),
    rect(BAR_X, y, BAR_W, BAR_H, '#eaeef2'),
    rect(BAR_X, y, BAR_W * Math.min(1, Math.max(0, share)), BAR_H, fill),
    text(BAR_X + BAR_W + 10, y + 11, caption, { size: 11 }),
  ];
}

/** The disk before and after the prune, and the volume new nodes get. */
function diskBars(
  disk: DiskUsage | undefined,
  volume: VolumeChange | undefined,
  y: number
): { parts: string[]; height: number } {
  const parts: string[] = [];
  let at = y;
  if (disk) {
    const total = disk.fsBytesTotal;
    parts.push(
      text(PAD, at, `Disk (containerd filesystem, ${formatBytes(total)})`, {
        weight: 'bold',
      }),
      ...bar(
        at + 10,
        'before the prune',
        total ? disk.bytesBefore / total : 0,
        '#cf222e',
        `${formatBytes(disk.bytesBefore)} used (${percent(disk.bytesBefore, total)})`
      ),
      ...bar(
        at + 32,
        'after the prune',
        total ? disk.bytesAfter / total : 0,
        '#1a7f37',
        `${formatBytes(disk.bytesAfter)} used (${percent(disk.bytesAfter, total)}), freed ${formatBytes(disk.bytesFreed)}`
      )
    );
    at += 58;
  } else {
    parts.push(
      text(PAD, at, 'Disk: no prune report in this source', {
        fill: '#57606a',
      })
    );
    at += 12;
  }
  if (volume) {
    const most = Math.max(volume.oldSizeGiB, volume.newSizeGiB, 1);
    at += 14;
    parts.push(
      text(PAD, at, `Volume for new nodes (${volume.deviceName})`, {
        weight: 'bold',
      }),
      ...bar(
        at + 10,
        'before the roll',
        volume.oldSizeGiB / most,
        '#8c959f',
        `${volume.oldSizeGiB} GiB`
      ),
      ...bar(
        at + 32,
        'after the roll',
        volume.newSizeGiB / most,
        '#8250df',
        `${volume.newSizeGiB} GiB`
      )
    );
    at += 48;
  }
  return { parts, height: at - y };
}

/**
 * The timeline picture as a standalone SVG 1.1 document: title, a time
 * axis, one marker and label per step, the opened → resolved span with the
 * time to recovery, and the disk before and after the prune. Every piece of
 * text is escaped; the output depends on the report only.
 *
 * @example
 * ```ts
 * await writeFile('postmortem-x.svg', renderSvg(report));
 * ```
 */
export function renderSvg(r: PostmortemReport): string {
  const { shown, left } = rowsToDraw(r.timeline);
  const times = [
    ...shown.map((t) => Date.parse(t.at)),
    Date.parse(r.openedAt),
    ...(r.resolvedAt ? [Date.parse(r.resolvedAt)] : []),
  ].filter(Number.isFinite);
  const { x, ticks } = axisOf(times);
  const rowsBottom = ROWS_Y + Math.max(1, shown.length) * ROW_H;
  const oneDay = new Set(shown.map((t) => t.at.slice(0, 10))).size <= 1;
  const kinds = (Object.keys(COLOURS) as RowKind[]).filter((k) =>
    shown.some((t) => t.kind === k)
  );
  let y = rowsBottom + (left ? 36 : 24);
  const legendY = y;
  y += 32;
  const disk = diskBars(r.disk, r.volume, y);
  const height = Math.ceil(y + disk.height + PAD);
  const body = [
    rect(0, 0, WIDTH, height, '#ffffff'),
    ...header(r),
    ...ticks.map((t) => line(t.x, AXIS_Y, t.x, rowsBottom, '#eaeef2')),
    ...span(r, x, rowsBottom),
    line(PLOT_X0, AXIS_Y, PLOT_X1, AXIS_Y, '#57606a'),
    ...ticks.flatMap((t) => [
      line(t.x, AXIS_Y, t.x, AXIS_Y + 4, '#57606a'),
      text(t.x, AXIS_Y - 6, t.label, {
        size: 10,
        fill: '#57606a',
        anchor: 'middle',
        mono: true,
      }),
    ]),
    text(PAD + 2, AXIS_Y - 6, 'UTC', { size: 10, fill: '#57606a', mono: true }),
    ...shown.flatMap((t, i) => row(t, i, x, oneDay)),
    ...(shown.length
      ? []
      : [text(LABEL_X, ROWS_Y + 14, 'no steps recorded', { fill: '#57606a' })]),
    ...(left
      ? [
          text(
            LABEL_X,
            rowsBottom + 14,
            `${left} more steps (mostly Kubernetes events) in the report's timeline`,
            { size: 11, fill: '#57606a' }
          ),
        ]
      : []),
    ...legend(kinds, legendY),
    ...disk.parts,
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}">`,
    `<title>${escapeXml(`Postmortem ${r.incidentId}`)}</title>`,
    `<desc>${escapeXml(`Timeline of incident ${r.incidentId}: ${shown.length} steps from ${utcTime(r.openedAt)}${r.mttrSeconds === undefined ? ', not resolved' : `, time to recovery ${duration(r.mttrSeconds)}`}.`)}</desc>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
