import { beforeEach, describe, expect, it } from 'vitest';
import {
  type BatchIncidents,
  batchShared,
  joinWithoutCause,
} from '#core/join-incident.ts';
import { InMemoryIncidentStore } from '#test/fakes/in-memory-incident-store.ts';
import {
  aBackOffDetail,
  anIncident,
  asEvent,
  LIVE,
  NODE_NAME,
  replayRun,
  SEED_IMAGE,
} from '#test/helpers/fixtures.ts';

describe('Function: joinWithoutCause', () => {
  const incidents = new InMemoryIncidentStore();
  const deps = { incidents };

  beforeEach(() => incidents.reset());

  it('joins the open incident of its pod, with the event id', async () => {
    // Prepare
    incidents.seed(anIncident());

    // Act
    const verdict = await joinWithoutCause(
      aBackOffDetail(),
      { ...LIVE, eventId: 'ev-backoff' },
      deps,
      0,
      2
    );

    // Assess
    expect(verdict).toEqual({
      kind: 'joined',
      incidentId: anIncident().incidentId,
    });
    expect(incidents.incidents()[0]?.timeline.at(-1)).toEqual({
      at: '2026-11-20T09:41:10.000Z',
      step: 'joined',
      eventId: 'ev-backoff',
      detail: `BackOff: Back-off pulling image "${SEED_IMAGE}"`,
    });
  });

  it('asks to look again when it overtook the Failed event that opens the incident', async () => {
    // Act
    const first = await joinWithoutCause(aBackOffDetail(), LIVE, deps, 0, 2);
    incidents.seed(anIncident());
    const second = await joinWithoutCause(aBackOffDetail(), LIVE, deps, 1, 2);

    // Assess
    expect(first).toEqual({ kind: 'look-again' });
    expect(second.kind).toBe('joined');
    expect(incidents.incidents()[0]?.timeline.map((t) => t.step)).toEqual([
      'classified',
      'joined',
    ]);
  });

  it('lets go after the last look, and never opens an incident', async () => {
    // Act
    const verdict = await joinWithoutCause(aBackOffDetail(), LIVE, deps, 2, 2);

    // Assess
    expect(verdict).toEqual({
      kind: 'let-go',
      why: 'no incident of its pod on ip-10-0-1-149.ec2.internal',
    });
    expect(incidents.incidents()).toEqual([]);
    expect(incidents.callCount('openOrJoin')).toBe(0);
  });

  it("lets go at once when another pod's incident is open on the node", async () => {
    // Prepare
    incidents.seed(anIncident());

    // Act
    const verdict = await joinWithoutCause(
      aBackOffDetail(undefined, { namespace: 'inference', name: 'other-pod' }),
      LIVE,
      deps,
      0,
      2
    );

    // Assess
    expect(verdict.kind).toBe('let-go');
    expect(incidents.incidents()[0]?.timeline).toHaveLength(1);
  });

  it('joins a resolved incident it happened during, so the postmortem keeps it', async () => {
    // Prepare
    incidents.seed(
      anIncident({ status: 'resolved', resolvedAt: '2026-11-20T09:45:00Z' })
    );

    // Act
    const during = await joinWithoutCause(
      aBackOffDetail('2026-11-20T09:42:00Z'),
      LIVE,
      deps,
      0,
      2
    );
    const after = await joinWithoutCause(
      aBackOffDetail('2026-11-20T09:50:00Z'),
      LIVE,
      deps,
      0,
      2
    );

    // Assess
    expect(during.kind).toBe('joined');
    expect(after).toEqual({ kind: 'look-again' });
    expect(incidents.incidents()[0]?.timeline.map((t) => t.at)).toEqual([
      '2026-11-20T09:40:59.000Z',
      '2026-11-20T09:42:00.000Z',
    ]);
  });

  it('looks only in its own scope: a replay never joins the live incident', async () => {
    // Prepare
    incidents.seed(anIncident());

    // Act
    const verdict = await joinWithoutCause(
      aBackOffDetail(),
      replayRun('seed'),
      deps,
      2,
      2
    );

    // Assess
    expect(verdict.kind).toBe('let-go');
    expect(incidents.incidents()[0]?.timeline).toHaveLength(1);
  });
});

describe('Function: batchShared', () => {
  const incidents = new InMemoryIncidentStore();
  beforeEach(() => incidents.reset());

  /** The store, counting its reads and notes; it fails the first `failing` of each. */
  const counted = (failing = 0) => {
    const reads: string[] = [];
    const notes: string[] = [];
    const store: BatchIncidents = {
      get: async (key) => {
        reads.push(key.node);
        if (reads.length <= failing) throw new Error('ThrottlingException');
        return incidents.get(key);
      },
      appendTimeline: (...args) => incidents.appendTimeline(...args),
      notePod: async (key, incidentId, pod) => {
        notes.push(pod.name);
        if (notes.length <= failing) throw new Error('ThrottlingException');
        return incidents.notePod(key, incidentId, pod);
      },
    };
    return { reads, notes, store };
  };

  it("reads each node's incident once for a batch's joins, and every join lands", async () => {
    // Prepare
    incidents.seed(anIncident());
    const { reads, store } = counted();
    const batch = { incidents: batchShared(store) };
    const otherNode = {
      ...aBackOffDetail(),
      node: { ...aBackOffDetail().node, name: 'ip-10-0-2-37.ec2.internal' },
    };

    // Act
    const verdicts = await Promise.all([
      joinWithoutCause(aBackOffDetail(), asEvent(LIVE, 'ev-1'), batch, 0, 2),
      joinWithoutCause(aBackOffDetail(), asEvent(LIVE, 'ev-2'), batch, 0, 2),
      joinWithoutCause(otherNode, asEvent(LIVE, 'ev-3'), batch, 2, 2),
    ]);

    // Assess
    expect(verdicts.map((v) => v.kind)).toEqual(['joined', 'joined', 'let-go']);
    expect(reads).toEqual([NODE_NAME, 'ip-10-0-2-37.ec2.internal']);
    expect(
      incidents.incidents()[0]?.timeline.map((t) => t.eventId ?? t.step)
    ).toEqual(expect.arrayContaining(['ev-1', 'ev-2']));
  });

  it('shares no failed read: the next join reads again', async () => {
    // Prepare
    incidents.seed(anIncident());
    const { reads, store } = counted(1);
    const batch = { incidents: batchShared(store) };

    // Act
    const first = joinWithoutCause(aBackOffDetail(), LIVE, batch, 0, 2);
    await expect(first).rejects.toThrow('ThrottlingException');
    const second = await joinWithoutCause(aBackOffDetail(), LIVE, batch, 0, 2);

    // Assess
    expect(second.kind).toBe('joined');
    expect(reads).toHaveLength(2);
  });

  it('notes each pod once a batch, and again after a failed note', async () => {
    // Prepare
    const incident = anIncident();
    incidents.seed(incident);
    const { notes, store } = counted(1);
    const batch = batchShared(store);
    const pod = (name: string) => ({ namespace: 'inference', name });

    // Act
    await expect(
      batch.notePod(incident.key, incident.incidentId, pod('triton-1'))
    ).rejects.toThrow('ThrottlingException');
    await Promise.all([
      batch.notePod(incident.key, incident.incidentId, pod('triton-1')),
      batch.notePod(incident.key, incident.incidentId, pod('triton-1')),
      batch.notePod(incident.key, incident.incidentId, pod('triton-2')),
    ]);

    // Assess
    expect(notes).toEqual(['triton-1', 'triton-1', 'triton-2']);
    expect(incidents.incidents()[0]?.pods).toEqual([
      pod('triton-1'),
      pod('triton-2'),
    ]);
  });
});
