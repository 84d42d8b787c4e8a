import { beforeEach, describe, expect, it } from 'vitest';
import { noteRestart, resolutionOf, resolveIncident } from '#core/resolve.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import { IncidentResolvedDetail } from '#events/schemas.ts';
import { InMemoryIncidentStore } from '#test/fakes/in-memory-incident-store.ts';
import { detailOf } from '#test/helpers/bus.ts';
import {
  aKubernetesEvent,
  aKubernetesEventDetail,
  anIncident,
  aPulledEvent,
  CLUSTER,
  INSTANCE_ID,
  LIVE,
  NODE_NAME,
  replayRun,
  SEED_IMAGE,
  SEED_POD,
} from '#test/helpers/fixtures.ts';

const ENVELOPE_TIME = '2026-11-20T09:43:00Z';
const PULLED_AT = '2026-11-20T09:42:30Z';

describe('Function: resolveIncident', () => {
  const incidents = new InMemoryIncidentStore();
  const deps = { incidents };
  const incident = anIncident();

  beforeEach(() => {
    incidents.reset();
    incidents.seed(incident);
  });

  it('resolves the open incident with its time to recovery when the pull succeeds after the prune', async () => {
    // Prepare
    const detail = aKubernetesEventDetail(aPulledEvent(PULLED_AT));

    // Act
    const emitted = await resolveIncident(detail, ENVELOPE_TIME, LIVE, deps);

    // Assess
    const entry = {
      at: PULLED_AT,
      step: 'resolved',
      eventId: 'event-1',
      detail: `Pulled: Successfully pulled image "${SEED_IMAGE}" in 1m2.5s`,
    };
    expect(emitted).toHaveLength(1);
    expect(emitted[0]?.detailType).toBe(DETAIL_TYPES.incidentResolved);
    expect(IncidentResolvedDetail.parse(emitted[0]?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME, instanceId: INSTANCE_ID },
      dryRun: false,
      incidentId: incident.incidentId,
      openedAt: incident.openedAt,
      resolvedAt: PULLED_AT,
      mttrSeconds: 91,
      resolvedBy: {
        reason: 'Pulled',
        pod: SEED_POD,
        message: `Successfully pulled image "${SEED_IMAGE}" in 1m2.5s`,
      },
      timeline: [...incident.timeline, entry],
    });
    const { due: _waited, ...settled } = incident;
    expect(incidents.incidents()).toEqual([
      {
        ...settled,
        status: 'resolved',
        step: 'resolved',
        resolvedAt: '2026-11-20T09:42:30.000Z',
        timeline: [
          ...incident.timeline,
          { ...entry, at: '2026-11-20T09:42:30.000Z' },
        ],
      },
    ]);
  });

  it('resolves once when two proofs arrive at the same time', async () => {
    // Prepare
    const pulled = aKubernetesEventDetail(aPulledEvent(PULLED_AT));
    const started = aKubernetesEventDetail(
      aPulledEvent(PULLED_AT, {
        reason: 'Started',
        message: 'Started container triton',
      })
    );

    // Act
    const [first, second] = await Promise.all([
      resolveIncident(pulled, ENVELOPE_TIME, LIVE, deps),
      resolveIncident(started, ENVELOPE_TIME, LIVE, deps),
    ]);

    // Assess
    expect([...(first ?? []), ...(second ?? [])]).toHaveLength(1);
    expect(incidents.callCount('resolve')).toBe(2);
    expect(incidents.incidents()[0]?.status).toBe('resolved');
  });

  it('does nothing when another event already resolved the incident', async () => {
    // Prepare
    const detail = aKubernetesEventDetail(aPulledEvent(PULLED_AT));
    await resolveIncident(detail, ENVELOPE_TIME, LIVE, deps);

    // Act
    const emitted = await resolveIncident(
      aKubernetesEventDetail(aPulledEvent('2026-11-20T09:50:00Z')),
      ENVELOPE_TIME,
      { ...LIVE, eventId: 'event-2' },
      deps
    );

    // Assess
    expect(emitted).toEqual([]);
    expect(incidents.callCount('resolve')).toBe(1);
  });

  it('emits the same resolution again when the event that resolved the incident is delivered again', async () => {
    // Prepare: the first delivery resolved it; its publish (or the save of
    // its decision) failed, so SQS delivers the same event again.
    const detail = aKubernetesEventDetail(aPulledEvent(PULLED_AT));
    const first = await resolveIncident(detail, ENVELOPE_TIME, LIVE, deps);

    // Act
    const again = await resolveIncident(detail, ENVELOPE_TIME, LIVE, deps);

    // Assess
    expect(again).toHaveLength(1);
    const before = IncidentResolvedDetail.parse(first[0]?.detail);
    const after = IncidentResolvedDetail.parse(again[0]?.detail);
    // The same resolution, read back from the store (times normalised).
    expect(after).toMatchObject({
      incidentId: before.incidentId,
      mttrSeconds: before.mttrSeconds,
      resolvedBy: before.resolvedBy,
    });
    expect(Date.parse(after.resolvedAt)).toBe(Date.parse(before.resolvedAt));
    expect(after.timeline.map((e) => e.step)).toEqual(
      before.timeline.map((e) => e.step)
    );
    expect(incidents.callCount('resolve')).toBe(1);
  });

  it('does nothing when the node has no incident', async () => {
    // Prepare
    incidents.reset();

    // Act
    const emitted = await resolveIncident(
      aKubernetesEventDetail(aPulledEvent(PULLED_AT)),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(emitted).toEqual([]);
    expect(incidents.callCount('resolve')).toBe(0);
  });

  it('does nothing when no prune was requested yet', async () => {
    // Prepare
    incidents.seed(anIncident({ step: 'opened', prune: undefined }));

    // Act
    const emitted = await resolveIncident(
      aKubernetesEventDetail(aPulledEvent(PULLED_AT)),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(emitted).toEqual([]);
    expect(incidents.incidents()[0]?.status).toBe('open');
  });

  it('resolves an incident pullmedic only escalated, which no prune will follow', async () => {
    // Prepare
    incidents.seed(
      anIncident({ remedy: 'escalate', step: 'escalated', prune: undefined })
    );

    // Act
    const resolution = await resolutionOf(
      aKubernetesEventDetail(aPulledEvent(PULLED_AT)),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(resolution.kind).toBe('resolved');
    expect(incidents.incidents()[0]?.status).toBe('resolved');
  });

  it('says why nothing happened: not yet, or unrelated', async () => {
    // Prepare
    const pulled = aKubernetesEventDetail(aPulledEvent(PULLED_AT));
    const early = aKubernetesEventDetail(aPulledEvent('2026-11-20T09:30:00Z'));

    // Act
    const elsewhere = await resolutionOf(
      pulled,
      ENVELOPE_TIME,
      replayRun('r'),
      deps
    );
    const before = await resolutionOf(early, ENVELOPE_TIME, LIVE, deps);
    incidents.seed(anIncident({ step: 'opened', prune: undefined }));
    const unpruned = await resolutionOf(pulled, ENVELOPE_TIME, LIVE, deps);

    // Assess
    expect([elsewhere, before, unpruned]).toEqual([
      { kind: 'not-yet' },
      { kind: 'unrelated' },
      { kind: 'not-yet' },
    ]);
  });

  it('does nothing when the success happened before the incident opened', async () => {
    // Prepare
    const initContainerPull = aPulledEvent('2026-11-20T09:38:57Z', {
      message: 'Successfully pulled image "amazon/aws-cli:latest" in 5.419s',
    });

    // Act
    const emitted = await resolveIncident(
      aKubernetesEventDetail(initContainerPull),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(emitted).toEqual([]);
    expect(incidents.callCount('resolve')).toBe(0);
    expect(incidents.incidents()[0]?.status).toBe('open');
  });

  it('does nothing when the event names no node', async () => {
    // Prepare
    const event = aPulledEvent(PULLED_AT, { source: { component: 'kubelet' } });

    // Act
    const emitted = await resolveIncident(
      aKubernetesEventDetail(event),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(emitted).toEqual([]);
    expect(incidents.callCount('get')).toBe(0);
  });

  it("does nothing when the replay's scope has no incident", async () => {
    // Act
    const emitted = await resolveIncident(
      aKubernetesEventDetail(aPulledEvent(PULLED_AT)),
      ENVELOPE_TIME,
      replayRun('postmortem'),
      deps
    );

    // Assess
    expect(emitted).toEqual([]);
    expect(incidents.calls.get[0]).toEqual([
      expect.objectContaining({ scope: 'replay:postmortem' }),
    ]);
    expect(incidents.incidents()[0]?.status).toBe('open');
  });

  it('does not resolve on an event about neither the pod nor the image', async () => {
    // Prepare
    const event = aKubernetesEvent({
      involvedObject: { kind: 'Node', name: NODE_NAME },
      reason: 'Started',
      type: 'Normal',
      message: 'Started kubelet',
      source: undefined,
      eventTime: PULLED_AT,
    });

    // Act
    const emitted = await resolveIncident(
      aKubernetesEventDetail(event),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(emitted).toEqual([]);
  });

  it('resolves without a pod when the pod has no namespace', async () => {
    // Prepare
    const event = aPulledEvent(PULLED_AT, {
      involvedObject: { kind: 'Pod', name: SEED_POD.name },
    });

    // Act
    const emitted = await resolveIncident(
      aKubernetesEventDetail(event),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(
      detailOf(emitted[0], DETAIL_TYPES.incidentResolved).resolvedBy
    ).not.toHaveProperty('pod');
  });

  it('cuts the timeline entry to 512 and the proof to 4096 characters when the message is long', async () => {
    // Prepare
    const event = aPulledEvent(PULLED_AT, { message: 'y'.repeat(10_000) });

    // Act
    const emitted = await resolveIncident(
      aKubernetesEventDetail(event),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    const resolved = IncidentResolvedDetail.parse(emitted[0]?.detail);
    expect(resolved.resolvedBy.message).toHaveLength(4096);
    expect(resolved.timeline.at(-1)?.detail).toHaveLength(512);
  });

  it('uses the envelope time when the event carries no time of its own', async () => {
    // Prepare
    const event = aPulledEvent(PULLED_AT, {
      firstTimestamp: null,
      lastTimestamp: null,
      metadata: { name: 'triton.1' },
    });

    // Act
    const emitted = await resolveIncident(
      aKubernetesEventDetail(event),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(emitted[0]?.detail).toMatchObject({
      resolvedAt: ENVELOPE_TIME,
      mttrSeconds: 121,
    });
  });
});

describe('Function: noteRestart, and the Started of a restarted pod', () => {
  const incidents = new InMemoryIncidentStore();
  const deps = { incidents };
  const incident = anIncident();
  const DELETED_AT = '2026-11-20T09:42:11.000Z';
  const REPLACEMENT = {
    namespace: 'inference',
    name: 'triton-79569cfbbc-x7k2p',
  };
  const restarted = {
    cluster: CLUSTER,
    node: { name: NODE_NAME, instanceId: INSTANCE_ID },
    incidentId: incident.incidentId,
    pod: { ...SEED_POD, uid: '7b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e' },
    owner: { kind: 'ReplicaSet' as const, name: 'triton-79569cfbbc' },
    image: SEED_IMAGE,
    deletedAt: DELETED_AT,
  };
  /** An event of the replacement pod the ReplicaSet made. */
  const ofReplacement = (reason: string, message: string, at: string) =>
    aKubernetesEventDetail(
      aPulledEvent(at, {
        reason,
        message,
        involvedObject: {
          kind: 'Pod',
          namespace: REPLACEMENT.namespace,
          name: REPLACEMENT.name,
          fieldPath: 'spec.containers{triton}',
        },
      })
    );

  beforeEach(() => {
    incidents.reset();
    incidents.seed(incident);
  });

  it('notes the restart and the pods left alone on the timeline, each once', async () => {
    // Act
    await noteRestart({ kind: 'restarted', detail: restarted }, LIVE, deps);
    await noteRestart({ kind: 'restarted', detail: restarted }, LIVE, deps);
    await noteRestart(
      {
        kind: 'skipped',
        detail: {
          ...restarted,
          pod: { namespace: 'batch', name: 'convert' },
          reason: 'bare-pod',
          why: 'batch/convert has no controller to recreate it',
        },
        at: DELETED_AT,
      },
      { ...LIVE, eventId: 'event-2' },
      deps
    );

    // Assess
    expect(incidents.incidents()[0]?.timeline.slice(1)).toEqual([
      {
        at: DELETED_AT,
        step: 'pod-restarted',
        eventId: 'event-1',
        detail:
          'inference/triton-79569cfbbc-m2wcc deleted; its ReplicaSet triton-79569cfbbc makes a new pod, which pulls now',
        pod: SEED_POD,
        owner: { kind: 'ReplicaSet', name: 'triton-79569cfbbc' },
      },
      {
        at: DELETED_AT,
        step: 'pod-restart-skipped',
        eventId: 'event-2',
        detail:
          'batch/convert left alone (bare-pod): batch/convert has no controller to recreate it',
        pod: { namespace: 'batch', name: 'convert' },
      },
    ]);
  });

  it("resolves on the replacement's Started, not its Pulled, and says how long the restart took", async () => {
    // Prepare
    await noteRestart({ kind: 'restarted', detail: restarted }, LIVE, deps);
    const pulled = ofReplacement(
      'Pulled',
      `Container image "${SEED_IMAGE}" already present on machine`,
      '2026-11-20T09:42:14Z'
    );
    const started = ofReplacement(
      'Started',
      'Started container triton',
      '2026-11-20T09:42:15Z'
    );

    // Act
    const onPulled = await resolveIncident(
      pulled,
      ENVELOPE_TIME,
      { ...LIVE, eventId: 'event-p' },
      deps
    );
    const onStarted = await resolveIncident(
      started,
      ENVELOPE_TIME,
      { ...LIVE, eventId: 'event-s' },
      deps
    );

    // Assess
    expect(onPulled).toEqual([]);
    expect(IncidentResolvedDetail.parse(onStarted[0]?.detail)).toMatchObject({
      resolvedAt: '2026-11-20T09:42:15Z',
      resolvedBy: { reason: 'Started', pod: REPLACEMENT },
      restart: {
        pod: SEED_POD,
        replacement: REPLACEMENT,
        startedAfterSeconds: 4,
      },
    });
  });

  it('still resolves on the Pulled of another pod of the image when no restart was noted', async () => {
    // Act
    const emitted = await resolveIncident(
      ofReplacement(
        'Pulled',
        `Successfully pulled image "${SEED_IMAGE}" in 3.1s`,
        '2026-11-20T09:42:14Z'
      ),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(
      IncidentResolvedDetail.parse(emitted[0]?.detail).restart
    ).toBeUndefined();
  });
});
