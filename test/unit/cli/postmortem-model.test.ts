import { describe, expect, it } from 'vitest';
import type { BusEvent } from '../../../cli/local/runner.ts';
import { reportsFromBusEvents } from '../../../cli/postmortem/from-bus-events.ts';
import { reportFromIncidentRecord } from '../../../cli/postmortem/from-incident-record.ts';
import { parseIncidentId } from '../../../cli/postmortem/model.ts';
import type { IncidentRecord } from '../../../core/ports.ts';
import { DETAIL_TYPES, SOURCES } from '../../../events/detail-types.ts';

const NODE = { name: 'ip-10-0-1-149.ec2.internal', instanceId: 'i-0a1b2c3d' };
const POD = { namespace: 'inference', name: 'triton-0' };
const base = (dryRun = false) => ({ cluster: 'prod', node: NODE, dryRun });
let seq = 0;

const bus = (
  time: string,
  type: string,
  detail: Record<string, unknown>,
  source: string = SOURCES.pipeline
): BusEvent => ({
  time,
  source,
  'detail-type': type,
  detail,
  id: `e-${++seq}`,
});

const kubernetes = (time: string, reason: string, message: string) =>
  bus(
    time,
    DETAIL_TYPES.kubernetesEvent,
    {
      cluster: 'prod',
      node: { name: NODE.name },
      event: {
        metadata: { name: `triton-0.${reason}`, namespace: 'inference' },
        involvedObject: { kind: 'Pod', ...POD },
        reason,
        message,
        type: reason === 'Failed' ? 'Warning' : 'Normal',
        lastTimestamp: time,
      },
    },
    SOURCES.forwarder
  );

/** One incident of the node, from failure to recovery, as the bus carries it. */
const incident = (
  id: string,
  opened: string,
  resolved: string,
  dryRun = false
) => [
  kubernetes(
    opened,
    'Failed',
    'failed to extract layer: no space left on device'
  ),
  bus(opened, DETAIL_TYPES.incidentOpened, {
    ...base(dryRun),
    incidentId: id,
    openedAt: opened,
    class: 'disk_full',
    evidence: 'no space left on device',
    pod: POD,
    image: 'registry.example/triton:1',
  }),
  bus(opened, DETAIL_TYPES.nodePruneRequested, {
    ...base(dryRun),
    incidentId: id,
    commandId: `cmd-${id}`,
    documentName: 'pullmedic-prod-prune-containerd',
    parameters: { DryRun: ['false'] },
    requestedAt: opened,
  }),
  bus(
    opened,
    DETAIL_TYPES.ssmCommandInvocationStatusChange,
    {
      'command-id': `cmd-${id}`,
      'document-name': 'pullmedic-prod-prune-containerd',
      'instance-id': NODE.instanceId,
      status: 'Success',
    },
    SOURCES.ssm
  ),
  kubernetes(resolved, 'Pulled', 'Successfully pulled image'),
  bus(resolved, DETAIL_TYPES.incidentResolved, {
    ...base(dryRun),
    incidentId: id,
    openedAt: opened,
    resolvedAt: resolved,
    mttrSeconds: (Date.parse(resolved) - Date.parse(opened)) / 1000,
    resolvedBy: { reason: 'Pulled', pod: POD, message: 'Successfully pulled' },
    timeline: [],
  }),
];

describe('Function: reportsFromBusEvents', () => {
  it('writes one report per incident, each with its own events of the node', () => {
    // Prepare
    const events = [
      ...incident('prod/n/1', '2026-11-20T09:00:00Z', '2026-11-20T09:01:00Z'),
      ...incident('prod/n/2', '2026-11-20T10:00:00Z', '2026-11-20T10:05:00Z'),
    ];

    // Act
    const reports = reportsFromBusEvents(events, { source: 'test' });

    // Assess
    expect(reports.map((r) => r.incidentId)).toEqual(['prod/n/1', 'prod/n/2']);
    expect(reports.map((r) => r.mttrSeconds)).toEqual([60, 300]);
    for (const r of reports) {
      expect(r.timeline.map((t) => t.kind)).toEqual([
        'kubernetes',
        'incident',
        'prune',
        'ssm',
        'kubernetes',
        'resolved',
      ]);
    }
    expect(reports[1]?.timeline[0]?.at).toBe('2026-11-20T10:00:00.000Z');
  });

  it('moves the replay times back, and names the incident as it was', () => {
    // Prepare: the replay ran 8 days and 0.5 s later than the events.
    const shiftMs = 8 * 86400_000 + 500;
    const later = (t: string) =>
      new Date(Date.parse(t) + shiftMs).toISOString();
    const events = incident(
      'prod/ip-10-0-1-149.ec2.internal/20261128T094059Z',
      later('2026-11-20T09:40:59Z'),
      later('2026-11-20T09:41:17Z')
    );

    // Act
    const [report] = reportsFromBusEvents(events, { source: 'test', shiftMs });

    // Assess
    expect(report?.incidentId).toBe(
      'prod/ip-10-0-1-149.ec2.internal/20261120T094059Z'
    );
    expect(report?.openedAt).toBe('2026-11-20T09:40:59.000Z');
    expect(report?.resolvedAt).toBe('2026-11-20T09:41:17.000Z');
    expect(report?.caveats[0]).toContain(
      "the replay's incident id was prod/ip-10-0-1-149.ec2.internal/20261128T094059Z"
    );
  });

  it('flags dry-run decisions and says what would have been done', () => {
    // Prepare
    const id = 'prod/n/dry';
    const events = [
      ...incident(id, '2026-11-20T09:00:00Z', '2026-11-20T09:01:00Z', true),
      bus('2026-11-20T09:00:30Z', DETAIL_TYPES.volumeRollStarted, {
        ...base(true),
        incidentId: id,
        nodegroup: { kind: 'managed', name: 'gpu' },
        launchTemplate: { id: 'lt-0abc', oldVersion: 1, newVersion: null },
        deviceName: '/dev/xvda',
        oldSizeGiB: 20,
        newSizeGiB: 100,
        rollout: { kind: 'eks-nodegroup-update', id: null },
        undo: 'aws eks update-nodegroup-version …',
      }),
      bus('2026-11-20T09:00:31Z', DETAIL_TYPES.incidentEscalated, {
        ...base(true),
        incidentId: id,
        reason: 'the pause image is missing',
        nextSteps: ['Restore it.'],
      }),
    ];

    // Act
    const [report] = reportsFromBusEvents(events, { source: 'test' });

    // Assess
    expect(report?.dryRun).toBe(true);
    expect(report?.volume).toMatchObject({ oldSizeGiB: 20, newSizeGiB: 100 });
    expect(report?.actions).toContain(
      '[dry-run] Would have rolled managed node group gpu: /dev/xvda 20 → 100 GiB (launch template lt-0abc version 1 → (none, dry-run), eks-nodegroup-update)'
    );
    expect(report?.decisions.map((d) => [d.step, d.dryRun])).toEqual([
      [DETAIL_TYPES.nodePruneRequested, true],
      [DETAIL_TYPES.volumeRollStarted, true],
      [DETAIL_TYPES.incidentEscalated, true],
    ]);
    expect(report?.timeline.find((t) => t.kind === 'escalated')?.text).toBe(
      '[dry-run] escalated to on-call: the pause image is missing. Next steps: 1. Restore it.'
    );
  });

  it('shows an event that breaks its contract as it came, and opens nothing without an incident', () => {
    // Prepare
    const id = 'prod/n/odd';
    const events = [
      ...incident(id, '2026-11-20T09:00:00Z', '2026-11-20T09:01:00Z'),
      bus('2026-11-20T09:00:10Z', DETAIL_TYPES.nodePruneCompleted, {
        ...base(),
        incidentId: id,
        status: 42,
      }),
    ];

    // Act
    const [report] = reportsFromBusEvents(events, { source: 'test' });
    const none = reportsFromBusEvents(
      [kubernetes('2026-11-20T09:00:00Z', 'Pulled', 'ok')],
      { source: 'test' }
    );

    // Assess
    const odd = report?.timeline.find((t) => t.kind === 'other');
    expect(odd?.text).toContain('Node Prune Completed from pullmedic: {');
    expect(odd?.text).toContain('"status":42');
    expect(report?.disk).toBeUndefined();
    expect(none).toEqual([]);
  });
});

describe('Function: reportFromIncidentRecord', () => {
  it('reads an open incident: no recovery yet, dry-run steps flagged', () => {
    // Prepare
    const record: IncidentRecord = {
      key: { scope: 'dry-run', cluster: 'prod', node: NODE.name },
      incidentId: 'prod/ip-10-0-1-149.ec2.internal/20261120T094059Z',
      status: 'open',
      openedAt: '2026-11-20T09:40:59Z',
      node: NODE,
      class: 'disk_full',
      step: 'prune-sent',
      evidence: 'no space left on device',
      timeline: [
        {
          at: '2026-11-20T09:41:02Z',
          step: 'prune-requested',
          detail: '[dry-run] would send doc to i-0a1b2c3d (command dry-run-x)',
        },
        {
          at: '2026-11-20T09:40:59Z',
          step: 'classified',
          detail: 'Failed: disk_full (no space left on device)',
        },
        {
          at: '2026-11-20T09:41:03Z',
          step: 'something-new',
          detail: 'a later version wrote this',
        },
      ],
    };

    // Act
    const report = reportFromIncidentRecord(record, {
      table: 't',
      scope: 'dry-run',
    });

    // Assess
    expect(report.resolvedAt).toBeUndefined();
    expect(report.mttrSeconds).toBeUndefined();
    expect(report.dryRun).toBe(true);
    expect(report.timeline.map((t) => [t.kind, t.dryRun])).toEqual([
      ['classified', false],
      ['prune', true],
      ['other', false],
    ]);
    expect(report.caveats).toContain(
      'The incident is still open: no time to recovery yet.'
    );
  });
});

describe('Function: parseIncidentId', () => {
  it('splits <cluster>/<node>/<opened> and refuses anything else', () => {
    // Act & Assess
    expect(
      parseIncidentId('prod/ip-10-0-1-149.ec2.internal/20261120T094059Z')
    ).toEqual({
      cluster: 'prod',
      node: 'ip-10-0-1-149.ec2.internal',
      opened: '20261120T094059Z',
    });
    expect(parseIncidentId('prod/node')).toBeUndefined();
    expect(parseIncidentId('a/b/c/d')).toBeUndefined();
    expect(parseIncidentId('a/ b/c')).toBeUndefined();
  });
});
