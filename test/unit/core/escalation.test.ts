import { beforeEach, describe, expect, it } from 'vitest';
import { escalate, noteEscalations } from '#core/escalation.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import { createFakeEnvironment } from '#test/fakes/environment.ts';
import { sampleDetail } from '#test/helpers/bus.ts';
import {
  anIncident,
  CLUSTER,
  LIVE,
  NODE_NAME,
} from '#test/helpers/fixtures.ts';

const base = {
  cluster: CLUSTER,
  node: { name: NODE_NAME },
  dryRun: false,
};

describe('Function: escalate', () => {
  const env = createFakeEnvironment();
  beforeEach(() => {
    env.reset();
    env.clock.set('2026-11-20T09:50:00Z');
  });

  it('stops waiting and tells on-call, with the first thing to do on the timeline', async () => {
    // Prepare
    const incident = anIncident();
    env.incidents.seed(incident);

    // Act
    const emitted = await escalate(
      incident,
      'it failed',
      ['Do this', 'Then that'],
      base,
      LIVE,
      env
    );

    // Assess
    expect(emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.incidentEscalated,
    ]);
    const stored = env.incidents.incidents()[0];
    expect(stored?.step).toBe('escalated');
    expect(stored?.due).toBeUndefined();
    expect(stored?.timeline.at(-1)).toEqual({
      at: '2026-11-20T09:50:00.000Z',
      step: 'escalated',
      eventId: 'event-1',
      detail: 'it failed; next: Do this',
    });
  });

  it('says nothing of an incident resolved meanwhile', async () => {
    // Prepare
    const incident = anIncident({ status: 'resolved', step: 'resolved' });
    env.incidents.seed(incident);

    // Act
    const emitted = await escalate(incident, 'late', ['x'], base, LIVE, env);

    // Assess
    expect(emitted).toEqual([]);
  });

  it('says nothing of an incident a newer one replaced', async () => {
    // Prepare
    env.incidents.seed(anIncident({ incidentId: 'newer' }));

    // Act
    const emitted = await escalate(
      anIncident(),
      'late',
      ['x'],
      base,
      LIVE,
      env
    );

    // Assess
    expect(emitted).toEqual([]);
  });
});

describe('Function: noteEscalations', () => {
  it('notes only the escalations among what was decided', async () => {
    // Prepare
    const env = createFakeEnvironment();
    env.clock.set('2026-11-20T09:50:00Z');
    const incident = anIncident();
    env.incidents.seed(incident);

    // Act
    await noteEscalations(
      [
        {
          detailType: DETAIL_TYPES.nodePruneCompleted,
          detail: sampleDetail(DETAIL_TYPES.nodePruneCompleted),
        },
        {
          detailType: DETAIL_TYPES.incidentEscalated,
          detail: {
            ...sampleDetail(DETAIL_TYPES.incidentEscalated),
            reason: 'the pause image is missing',
            nextSteps: ['Restore it'],
          },
        },
      ],
      incident,
      env,
      LIVE
    );

    // Assess
    expect(env.incidents.incidents()[0]?.timeline.map((t) => t.detail)).toEqual(
      [
        incident.timeline[0]?.detail,
        'the pause image is missing; next: Restore it',
      ]
    );
  });
});
