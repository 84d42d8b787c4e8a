import { duration, formatBytes } from '../../core/words.ts';
import {
  clockTime,
  type DiskUsage,
  type PostmortemReport,
  percent,
  utcTime,
} from './model.ts';

/**
 * Text from events and records as inert Markdown: no HTML (`<`, `>`, `&`
 * become entities), no emphasis, code, links, math or strikethrough, no
 * table cell breaks (`|`), one line. What the kubelet or a table says is
 * shown, never interpreted.
 *
 * @example
 * ```ts
 * escapeMarkdown('evil<script>&"x"|*'); // 'evil&lt;script&gt;&amp;"x"\|\*'
 * ```
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~$!#]/g, (c) => `\\${c}`);
}

const md = escapeMarkdown;

/** A table; every cell is escaped here, so callers pass raw text. */
function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.map(md).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map(
      (r) => `| ${r.map((c) => (c === '' ? ' ' : md(c))).join(' | ')} |`
    ),
  ];
}

function summary(r: PostmortemReport): string[] {
  const rows: string[][] = [
    ['Incident', r.incidentId],
    ['Node', r.instanceId ? `${r.node} (${r.instanceId})` : r.node],
    ['Cluster', r.cluster],
    ['Pod', r.pod ?? '(none named)'],
    ['Image', r.image ?? '(none named)'],
    ['Class', r.class],
    ['Evidence', r.evidence === null ? '(none)' : `"${r.evidence}"`],
    ['Opened', utcTime(r.openedAt)],
    [
      'Resolved',
      r.resolvedAt
        ? `${utcTime(r.resolvedAt)}${r.resolvedBy ? ` (${r.resolvedBy})` : ''}`
        : 'not resolved',
    ],
    [
      'Time to recovery',
      r.mttrSeconds === undefined ? 'not resolved' : duration(r.mttrSeconds),
    ],
    [
      'Dry run',
      r.dryRun
        ? 'yes: some decisions were taken without acting'
        : 'no: pullmedic acted',
    ],
    ...(r.replayedOn
      ? [
          [
            'Replayed on',
            `${r.replayedOn}: the disk figures and times are its, not the incident's`,
          ],
        ]
      : []),
  ];
  return [
    ...table(['', ''], rows),
    '',
    '### What pullmedic did',
    '',
    ...(r.actions.length
      ? r.actions.map((a, i) => `${i + 1}. ${md(a)}`)
      : ['Nothing: no prune, no roll.']),
  ];
}

function diskTable(disk: DiskUsage | undefined): string[] {
  if (!disk) {
    return [
      "No prune report: the disk numbers come from the prune's result line, which this source does not carry.",
    ];
  }
  const total = disk.fsBytesTotal;
  const row = (name: string, used: number) => [
    name,
    `${formatBytes(used)} (${percent(used, total)})`,
    formatBytes(Math.max(0, total - used)),
    formatBytes(total),
  ];
  const facts = [
    `Freed ${formatBytes(disk.bytesFreed)}`,
    disk.imagesRemoved === undefined
      ? ''
      : `${disk.imagesRemoved} images removed`,
    disk.pauseImageIntact === undefined
      ? ''
      : `pause image ${disk.pauseImageIntact ? 'intact' : 'MISSING'}`,
    disk.method ? `method ${disk.method}` : '',
  ].filter(Boolean);
  return [
    ...table(
      ['', 'Used', 'Free', 'Size'],
      [
        row('Before the prune', disk.bytesBefore),
        row('After the prune', disk.bytesAfter),
      ]
    ),
    '',
    `${md(facts.join('; '))}.`,
  ];
}

/** The disk before and after the prune, and the volume new nodes get. */
function diskSection(r: PostmortemReport): string[] {
  const v = r.volume;
  return [
    ...diskTable(r.disk),
    ...(v
      ? [
          '',
          md(
            `New nodes get ${v.deviceName} ${v.newSizeGiB} GiB instead of ${v.oldSizeGiB} GiB${v.nodegroup ? ` (node group ${v.nodegroup})` : ''}${v.launchTemplate ? `, launch template ${v.launchTemplate}` : ''}.`
          ),
        ]
      : []),
  ];
}

/** Options of {@link renderMarkdown}. */
export interface MarkdownOptions {
  /** The SVG's file name, relative to the Markdown file. */
  svgFile: string;
}

/**
 * The postmortem as Markdown: summary, the timeline picture, the timeline
 * table, the decisions and why, the disk before and after the prune, and
 * where it all comes from. Deterministic: the same report gives the same
 * text.
 *
 * @example
 * ```ts
 * const text = renderMarkdown(report, { svgFile: 'postmortem-x.svg' });
 * ```
 */
export function renderMarkdown(
  r: PostmortemReport,
  options: MarkdownOptions
): string {
  const days = new Set(r.timeline.map((t) => t.at.slice(0, 10)));
  const oneDay = days.size <= 1;
  const when = (iso: string) => (oneDay ? clockTime(iso) : utcTime(iso));
  const svg = options.svgFile.replace(/[^A-Za-z0-9._-]/g, '_');
  const lines = [
    `# Postmortem: ${md(r.class)} on ${md(r.node)}`,
    '',
    `Incident ${md(r.incidentId)}, from ${md(r.source)}.`,
    '',
    `![Timeline of incident ${md(r.incidentId)}: markers per step, the span from opened to resolved, and the disk before and after the prune](${svg})`,
    '',
    '## Summary',
    '',
    ...summary(r),
    '',
    '## Timeline',
    '',
    oneDay && r.timeline[0]
      ? `Times are UTC, on ${r.timeline[0].at.slice(0, 10)}.`
      : 'Times are UTC.',
    '',
    ...table(
      ['Time', 'Step', 'What happened'],
      r.timeline.map((t) => [when(t.at), t.kind, t.text])
    ),
    '',
    '## Decisions and why',
    '',
    ...(r.decisions.length
      ? table(
          ['Time', 'Step', 'Decision', 'Why', 'Dry run'],
          r.decisions.map((d) => [
            when(d.at),
            d.step,
            d.decision,
            d.why,
            d.dryRun ? 'yes' : 'no',
          ])
        )
      : ['No decision was recorded.']),
    '',
    '## Disk usage before and after the prune',
    '',
    ...diskSection(r),
    '',
    '## Where this comes from',
    '',
    `- ${md(`Source: ${r.source}.`)}`,
    ...r.caveats.map((c) => `- ${md(c)}`),
    '',
  ];
  return lines.join('\n');
}
