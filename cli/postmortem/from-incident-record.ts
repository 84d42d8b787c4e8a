import type { IncidentRecord } from '../../core/ports.ts';
import { cut } from '../../core/words.ts';
import {
  type DecisionRow,
  isoMs,
  type PostmortemReport,
  type RowKind,
  type TimelineRow,
  type VolumeChange,
} from './model.ts';

/** Where a record was read. */
export interface RecordSource {
  table: string;
  scope: string;
}

/** How each timeline step (core/*.ts `appendTimeline`) reads. */
const STEPS: Record<
  string,
  { kind: RowKind; label: (detail: string) => string; decision?: string }
> = {
  classified: { kind: 'classified', label: (d) => `classified: ${d}` },
  joined: { kind: 'kubernetes', label: (d) => `joined: ${d}` },
  'prune-requested': {
    kind: 'prune',
    label: () => 'prune sent (SSM)',
    decision: 'prune the image cache',
  },
  'prune-completed': {
    kind: 'prune',
    label: (d) => `prune ${d.split(':')[0]}`,
    // Told by what followed: the record keeps the reason, not the outcome.
    decision: 'see the reason',
  },
  'roll-skipped': {
    kind: 'roll',
    label: () => 'roll skipped',
    decision: 'do not roll now',
  },
  'roll-started': {
    kind: 'roll',
    label: (d) => {
      const v = volumeOf(d);
      return v
        ? `roll started: ${v.deviceName} ${v.oldSizeGiB} → ${v.newSizeGiB} GiB`
        : 'roll started';
    },
    decision: 'roll the node group to a bigger volume',
  },
  'roll-completed': {
    kind: 'roll',
    label: (d) => `roll ended: ${d.split(': ').at(-1) ?? ''}`,
    decision: 'the rollout ended',
  },
  'pod-restarted': {
    kind: 'restart',
    label: (d) => `pod restarted: ${d.split(' deleted')[0]}`,
  },
  'pod-restart-skipped': {
    kind: 'restart',
    label: (d) => `pod left alone: ${d.split(':')[0]}`,
  },
  resolved: { kind: 'resolved', label: (d) => `resolved (${d.split(':')[0]})` },
  escalated: {
    kind: 'escalated',
    label: (d) => `escalated: ${d.split('; next: ')[0]}`,
    decision: 'tell on-call: a person must act',
  },
};

/** What the prune's result led to, from the steps that followed it. */
function afterPrune(steps: string[]): string {
  const next = steps.slice(steps.indexOf('prune-completed') + 1);
  if (next.some((s) => s.startsWith('roll-')))
    return 'roll the node group to a bigger volume';
  if (next.includes('pod-restarted'))
    return 'restart the stuck pods now (recovering)';
  return next.includes('resolved')
    ? "wait for the kubelet's retry (recovering)"
    : 'see the reason';
}

/**
 * The volume change a `roll-started` step tells (core/roll-volume.ts
 * writes `…: /dev/xvda 20 → 100 GiB; …`), or undefined.
 */
function volumeOf(detail: string): VolumeChange | undefined {
  const m = /(\/dev\/\S+) (\d+(?:\.\d+)?) → (\d+(?:\.\d+)?) GiB/.exec(detail);
  const lt = /(lt-[0-9a-f]+) version (\S+):/.exec(detail);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  return {
    deviceName: m[1],
    oldSizeGiB: Number(m[2]),
    newSizeGiB: Number(m[3]),
    ...(lt?.[1] ? { launchTemplate: `${lt[1]} version ${lt[2]}` } : {}),
  };
}

/**
 * A postmortem report from an incident record (the DynamoDB item's
 * `record`): its timeline is what pullmedic did and why, escalations
 * included; the Kubernetes Events and the prune's full report are not in
 * it, and the report says so.
 *
 * @example
 * ```ts
 * const record = await store.get({ scope: 'live', cluster, node });
 * const report = reportFromIncidentRecord(record, { table, scope: 'live' });
 * ```
 */
export function reportFromIncidentRecord(
  record: IncidentRecord,
  where: RecordSource
): PostmortemReport {
  const entries = [...(record.timeline ?? [])]
    .map((entry, index) => ({ entry, index, at: isoMs(entry.at) }))
    .sort((a, b) => a.at.localeCompare(b.at) || a.index - b.index);
  const timeline: TimelineRow[] = [];
  const decisions: DecisionRow[] = [];
  const actions: string[] = [];
  let volume: VolumeChange | undefined;
  for (const { entry, at } of entries) {
    const step = STEPS[entry.step];
    const detail = String(entry.detail ?? '');
    const dryRun = detail.includes('[dry-run]');
    timeline.push({
      at,
      kind: step?.kind ?? 'other',
      label: cut(step ? step.label(detail) : `${entry.step}: ${detail}`, 80),
      text: `${entry.step}: ${detail}`,
      dryRun,
    });
    if (step?.decision) {
      decisions.push({
        at,
        step: entry.step,
        decision:
          entry.step === 'prune-completed'
            ? afterPrune(entries.map((e) => e.entry.step))
            : step.decision,
        why: detail,
        dryRun,
      });
      actions.push(`${entry.step}: ${detail}`);
    }
    if (entry.step === 'roll-started') volume ??= volumeOf(detail);
  }
  const resolvedEntry = entries.findLast((e) => e.entry.step === 'resolved');
  const openedAt = isoMs(record.openedAt);
  const resolvedAt =
    record.status === 'resolved' && record.resolvedAt
      ? isoMs(record.resolvedAt)
      : undefined;
  return {
    incidentId: record.incidentId,
    cluster: record.key.cluster,
    node: record.node?.name ?? record.key.node,
    ...(record.node?.instanceId ? { instanceId: record.node.instanceId } : {}),
    ...(record.pod
      ? { pod: `${record.pod.namespace}/${record.pod.name}` }
      : {}),
    ...(record.image ? { image: record.image } : {}),
    class: record.class,
    evidence: record.evidence ?? null,
    openedAt,
    ...(resolvedAt
      ? {
          resolvedAt,
          mttrSeconds: (Date.parse(resolvedAt) - Date.parse(openedAt)) / 1000,
          ...(resolvedEntry ? { resolvedBy: resolvedEntry.entry.detail } : {}),
        }
      : {}),
    dryRun: timeline.some((t) => t.dryRun),
    actions,
    timeline,
    decisions,
    ...(volume ? { volume } : {}),
    source: `the incident record in DynamoDB table ${where.table} (scope ${where.scope})`,
    caveats: [
      "The incident record keeps pullmedic's own steps and escalations; the Kubernetes Events and the prune's full report (disk before and after, images removed) are in the bus archive.",
      ...(record.status === 'open'
        ? ['The incident is still open: no time to recovery yet.']
        : []),
    ],
  };
}
