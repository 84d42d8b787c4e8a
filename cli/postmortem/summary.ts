import { duration, formatBytes } from '../../core/words.ts';
import { type PostmortemReport, percent, utcTime } from './model.ts';

/**
 * Text for a terminal: C0 and C1 control characters (escape sequences a
 * record could carry) shown as `?`.
 *
 * @example
 * ```ts
 * terminalSafe('a\u001b[31mb'); // 'a?[31mb'
 * ```
 */
export const terminalSafe = (text: string): string =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: they are what it removes
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

/** What pullmedic did, in a few words. */
function did(r: PostmortemReport): string {
  const parts: string[] = [];
  if (r.disk) {
    const total = r.disk.fsBytesTotal;
    parts.push(
      `prune freed ${formatBytes(r.disk.bytesFreed)} (${percent(r.disk.bytesBefore, total)} → ${percent(r.disk.bytesAfter, total)} used)`
    );
  } else if (r.timeline.some((t) => t.kind === 'prune')) {
    parts.push('pruned');
  }
  if (r.volume)
    parts.push(
      `rolled ${r.volume.deviceName} ${r.volume.oldSizeGiB} → ${r.volume.newSizeGiB} GiB`
    );
  const escalations = r.timeline.filter((t) => t.kind === 'escalated').length;
  if (escalations) parts.push(`escalated ${escalations}×`);
  if (r.dryRun) parts.push('(dry-run: decided, not all done)');
  return parts.length ? parts.join('; ') : 'nothing (no prune, no roll)';
}

/**
 * The few lines the CLI prints per report: the incident, what happened,
 * what pullmedic did, and the files written.
 *
 * @example
 * ```ts
 * process.stdout.write(terminalSummary(report, [mdPath, svgPath]));
 * ```
 */
export function terminalSummary(
  r: PostmortemReport,
  paths: readonly string[]
): string {
  const lines = [
    `Postmortem of ${r.incidentId}`,
    `  node      ${r.node}${r.instanceId ? ` (${r.instanceId})` : ''}, cluster ${r.cluster}${r.pod ? `, pod ${r.pod}` : ''}`,
    `  class     ${r.class}${r.evidence === null ? '' : `: "${r.evidence}"`}`,
    `  opened    ${utcTime(r.openedAt)}`,
    r.resolvedAt && r.mttrSeconds !== undefined
      ? `  resolved  ${utcTime(r.resolvedAt)}, time to recovery ${duration(r.mttrSeconds)}`
      : '  resolved  not yet',
    `  did       ${did(r)}`,
    ...(r.replayedOn
      ? [
          `  replayed  on ${r.replayedOn}: the disk figures and times are its, not the incident's`,
        ]
      : []),
    `  timeline  ${r.timeline.length} steps, ${r.decisions.length} decisions`,
    ...paths.map((p, i) => `  ${i === 0 ? 'wrote    ' : '         '} ${p}`),
  ];
  return `${lines.map(terminalSafe).join('\n')}\n`;
}
