import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { IncidentRecord } from '#core/ports.ts';
import { reconcile } from '#core/reconcile.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import {
  IncidentEscalatedDetail,
  type VolumeRollStartedDetail,
} from '#events/schemas.ts';
import { createFakeEnvironment } from '#test/fakes/environment.ts';
import { serverError } from '#test/fakes/failure-plan.ts';
import {
  anIncident,
  anInvocation,
  anOrigin,
  aRollRequest,
  CLUSTER,
  DRY_RUN,
  INSTANCE_ID,
  LAUNCH_TEMPLATE_ID,
  LIVE,
  NODE_NAME,
  NODEGROUP,
  OFF,
} from '#test/helpers/fixtures.ts';

// The fixture's incident is due at 10:08; the reconciler looks later.
const NOW = '2026-11-20T10:10:00.000Z';
const DUE = '2026-11-20T10:08:00.000Z';
const INCIDENT_ID = anIncident().incidentId;
/** The prune as claimed: the intent written, no command recorded. */
const CLAIMED_ONLY = {
  intentId: 'event-remediate',
  instanceId: INSTANCE_ID,
  amiFamily: 'al2023' as const,
  documentName: 'pullmedic-test-prune-containerd',
  claimedAt: '2026-11-20T09:41:00.000Z',
};

const started: VolumeRollStartedDetail = {
  cluster: CLUSTER,
  node: { name: NODE_NAME, instanceId: INSTANCE_ID },
  dryRun: false,
  incidentId: INCIDENT_ID,
  nodegroup: { kind: 'managed', name: NODEGROUP },
  launchTemplate: { id: LAUNCH_TEMPLATE_ID, oldVersion: 3, newVersion: 4 },
  deviceName: '/dev/xvda',
  oldSizeGiB: 20,
  newSizeGiB: 100,
  rollout: { kind: 'eks-nodegroup-update', id: 'update-0001' },
  undo: 'aws eks update-nodegroup-version …',
};

describe('Function: reconcile', () => {
  const env = createFakeEnvironment();
  afterEach(() => vi.restoreAllMocks());

  beforeEach(() => {
    env.reset();
    env.clock.set(NOW);
    env.nodes.addNode(NODE_NAME, anOrigin());
  });

  const seed = (overrides: Partial<IncidentRecord> = {}) => {
    const incident = anIncident({ due: DUE, ...overrides });
    env.incidents.seed(incident);
    return incident;
  };
  const pass = () => reconcile(new Date(NOW), LIVE, env, 25);
  const stored = () => env.incidents.incidents()[0];

  // Finding 7: SSM's status events are best effort; a lost one left the
  // incident at "prune requested" for ever.
  it('concludes a prune whose status event never came, exactly as prune-result would', async () => {
    // Prepare
    seed();
    env.commands.setInvocation('cmd-0001', INSTANCE_ID, anInvocation());

    // Act
    const report = await pass();

    // Assess
    expect(report).toMatchObject({ looked: 1, failed: [] });
    expect(env.publisher.types()).toEqual([
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.volumeRollRequested,
      DETAIL_TYPES.podRestartRequested,
    ]);
    expect(stored()).toMatchObject({
      step: 'roll-requested',
      stepBy: `reconcile@${DUE}`,
      due: '2026-11-20T10:25:00.000Z',
    });
    expect(stored()?.outbox).toBeUndefined();
  });

  it('finishes on the next pass what a pass decided and could not publish', async () => {
    // Prepare
    seed();
    env.commands.setInvocation('cmd-0001', INSTANCE_ID, anInvocation());
    env.publisher.failures.once('publish', serverError());
    const failed = await pass();
    env.clock.advance(120);

    // Act
    const report = await reconcile(new Date(env.clock.now()), LIVE, env, 25);

    // Assess
    expect(failed.failed).toHaveLength(1);
    expect(stored()?.step).toBe('roll-requested');
    expect(report.driven[0]?.action).toBe(
      'published what an earlier pass decided'
    );
    expect(env.publisher.types()).toEqual([
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.volumeRollRequested,
      DETAIL_TYPES.podRestartRequested,
    ]);
    expect(stored()?.outbox).toBeUndefined();
    expect(stored()?.due).toBe('2026-11-20T10:27:00.000Z');
  });

  it('looks again at a prune still running past its deadline, twice, then tells a person', async () => {
    // Prepare
    seed();
    env.commands.setInvocation(
      'cmd-0001',
      INSTANCE_ID,
      anInvocation({ status: 'InProgress', stdout: '' })
    );

    // Act
    const first = await pass();
    const later = async () => {
      env.clock.advance(61);
      return reconcile(env.clock.now(), LIVE, env, 25);
    };
    const second = await later();
    const third = await later();

    // Assess
    expect(first.driven[0]?.action).toContain('looking again');
    expect(second.driven[0]?.action).toContain('looking again');
    expect(third.driven[0]?.action).toMatch(/^escalated: the prune command/);
    expect(env.publisher.types()).toEqual([DETAIL_TYPES.incidentEscalated]);
    expect(stored()?.step).toBe('escalated');
  });

  it('finds the command a claim sent and never recorded, by its intent', async () => {
    // Prepare
    const incident = seed({
      step: 'prune-claimed',
      prune: {
        intentId: 'event-remediate',
        instanceId: INSTANCE_ID,
        amiFamily: 'al2023',
        documentName: 'pullmedic-test-prune-containerd',
        claimedAt: '2026-11-20T09:41:00.000Z',
      },
    });
    env.commands.sent.push({
      commandId: 'cmd-0042',
      instanceId: INSTANCE_ID,
      comment: `pullmedic event-remediate ${incident.incidentId}`,
    });

    // Act
    const report = await pass();

    // Assess
    expect(report.driven[0]?.action).toBe('found the prune command cmd-0042');
    expect(stored()).toMatchObject({
      step: 'prune-sent',
      prune: { commandId: 'cmd-0042', sentAt: '2026-11-20T09:41:00.000Z' },
      // Due as if recorded when it was sent.
      due: '2026-11-20T10:08:00.000Z',
    });
    expect((await env.incidents.findByCommand('cmd-0042'))?.incidentId).toBe(
      incident.incidentId
    );
  });

  it('tells a person, once, with the timeline, when the prune was never sent', async () => {
    // Prepare
    seed({ step: 'opened', prune: undefined });

    // Act
    await pass();
    const again = await pass();

    // Assess
    expect(env.publisher.types()).toEqual([DETAIL_TYPES.incidentEscalated]);
    const told = IncidentEscalatedDetail.parse(
      env.publisher.published[0]?.detail
    );
    expect(told.reason).toMatch(/its prune was never sent$/);
    expect(told.nextSteps.at(-1)).toMatch(/^Timeline so far: .* classified: /);
    expect(again.looked).toBe(0);
    expect(stored()?.due).toBeUndefined();
  });

  it('tells a person when the pod has not started long after the prune left room', async () => {
    // Prepare
    seed({ step: 'recovering' });

    // Act
    await pass();

    // Assess
    const told = IncidentEscalatedDetail.parse(
      env.publisher.published[0]?.detail
    );
    expect(told.reason).toContain(
      'was pruned, but inference/triton-79569cfbbc-m2wcc has not started'
    );
    expect(told.nextSteps[1]).toBe(
      'Restart it if it waits in ImagePullBackOff: kubectl delete pod -n inference triton-79569cfbbc-m2wcc'
    );
  });

  it('asks once more for a roll that never started, then tells a person', async () => {
    // Prepare
    seed({ step: 'roll-requested', roll: { request: aRollRequest() } });

    // Act
    await pass();
    env.clock.advance(901);
    await reconcile(env.clock.now(), LIVE, env, 25);

    // Assess
    expect(env.publisher.types()).toEqual([
      DETAIL_TYPES.volumeRollRequested,
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(
      IncidentEscalatedDetail.parse(env.publisher.published[1]?.detail)
        .nextSteps
    ).toEqual(
      expect.arrayContaining([
        expect.stringContaining('at least 100 GiB by hand'),
      ])
    );
  });

  it('lets go of the group and tells a person when a roll never finished starting', async () => {
    // Prepare
    await env.locks.acquire(
      `${CLUSTER}/${NODEGROUP}`,
      INCIDENT_ID,
      new Date(NOW),
      21600
    );
    seed({
      step: 'roll-starting',
      roll: {
        request: aRollRequest(),
        groupKey: `${CLUSTER}/${NODEGROUP}`,
        launchTemplate: {
          id: LAUNCH_TEMPLATE_ID,
          oldVersion: 3,
          newVersion: 4,
        },
      },
    });

    // Act
    await pass();

    // Assess
    expect(env.locks.lock(`${CLUSTER}/${NODEGROUP}`)?.lockedUntil).toBeLessThan(
      Date.parse(NOW) / 1000
    );
    const told = IncidentEscalatedDetail.parse(
      env.publisher.published[0]?.detail
    );
    expect(told.nextSteps[0]).toBe(
      `Launch template ${LAUNCH_TEMPLATE_ID} has version 4 from pullmedic: roll the group to it by hand, or leave it at version 3.`
    );
  });

  it('watches a started roll nobody watches, and hands a running one back to watch-rollout', async () => {
    // Prepare
    seed({ step: 'roll-started', roll: { request: aRollRequest(), started } });
    env.rollouts.statuses = [
      { status: 'InProgress', done: false, succeeded: false, errors: [] },
    ];

    // Act
    const report = await pass();

    // Assess
    expect(report.driven[0]?.action).toBe(
      'the rollout runs: handed back to watch-rollout'
    );
    expect(env.publisher.types()).toEqual([DETAIL_TYPES.volumeRollStarted]);
    expect(stored()?.due).toBe('2026-11-20T10:25:00.000Z');
  });

  it('says how a started roll nobody watched ended', async () => {
    // Prepare
    seed({ step: 'roll-started', roll: { request: aRollRequest(), started } });
    env.rollouts.statuses = [
      { status: 'Successful', done: true, succeeded: true, errors: [] },
    ];

    // Act
    await pass();

    // Assess
    expect(env.publisher.types()).toEqual([
      DETAIL_TYPES.volumeRollCompleted,
      DETAIL_TYPES.podRestartRequested,
    ]);
    expect(stored()).toMatchObject({ step: 'roll-completed' });
    expect(stored()?.outbox).toBeUndefined();
  });

  it('drives the others when one incident cannot be driven', async () => {
    // Prepare
    seed();
    env.incidents.seed(
      anIncident({
        key: {
          cluster: CLUSTER,
          node: 'ip-10-0-2-7.ec2.internal',
          scope: 'live',
        },
        incidentId: 'prod/ip-10-0-2-7.ec2.internal/20261120T094059Z',
        node: { name: 'ip-10-0-2-7.ec2.internal' },
        step: 'recovering',
        due: '2026-11-20T10:00:00.000Z',
      })
    );

    // Act
    const report = await pass();

    // Assess
    expect(report.looked).toBe(2);
    expect(report.failed).toEqual([
      { incidentId: INCIDENT_ID, error: expect.stringContaining('cmd-0001') },
    ]);
    expect(report.driven.map((d) => d.step)).toEqual(['recovering']);
  });

  it('says nothing when the incident moved on between the look and the move', async () => {
    // Prepare: prune-result concludes the prune while the reconciler looks.
    seed();
    env.commands.setInvocation('cmd-0001', INSTANCE_ID, anInvocation());
    const advance = env.incidents.advance.bind(env.incidents);
    vi.spyOn(env.incidents, 'advance').mockImplementation(
      async (key, id, move) => {
        if (move.by.startsWith('reconcile@')) {
          await advance(key, id, { ...move, by: 'event-prune-result' });
        }
        return advance(key, id, move);
      }
    );

    // Act
    const report = await pass();

    // Assess
    expect(report.driven[0]?.action).toBe('concluded meanwhile');
    expect(env.publisher.published).toEqual([]);
  });

  it('says nothing when a recovering incident was resolved between the look and the escalation', async () => {
    // Prepare
    seed({ step: 'recovering' });
    vi.spyOn(env.incidents, 'advance').mockImplementation(async () => ({
      outcome: 'refused',
      incident: undefined,
    }));

    // Act
    const report = await pass();

    // Assess
    expect(report.driven[0]?.action).toBe('moved on meanwhile');
    expect(env.publisher.published).toEqual([]);
  });

  it('finds the command a claim sent even when the request that sent it recorded it meanwhile', async () => {
    // Prepare
    const incident = seed({
      step: 'prune-claimed',
      prune: CLAIMED_ONLY,
    });
    env.commands.sent.push({
      commandId: 'cmd-0042',
      instanceId: INSTANCE_ID,
      comment: `pullmedic event-remediate ${incident.incidentId}`,
    });
    vi.spyOn(env.incidents, 'advance').mockImplementation(async () => ({
      outcome: 'refused',
      incident: undefined,
    }));

    // Act
    const report = await pass();

    // Assess
    expect(report.driven[0]?.action).toBe(
      'found the prune command cmd-0042 (recorded meanwhile)'
    );
  });

  it('tells a person when a claimed prune sent no command', async () => {
    // Prepare
    seed({
      step: 'prune-claimed',
      prune: CLAIMED_ONLY,
    });

    // Act
    await pass();

    // Assess
    expect(
      IncidentEscalatedDetail.parse(env.publisher.published[0]?.detail).reason
    ).toMatch(/its prune was never sent$/);
  });

  it('treats a sent prune with no command recorded as one never sent', async () => {
    // Prepare
    seed({ prune: undefined });

    // Act
    await pass();

    // Assess
    expect(env.publisher.types()).toEqual([DETAIL_TYPES.incidentEscalated]);
  });

  it('tells a person when a roll nobody can redo did not start', async () => {
    // Prepare
    seed({ step: 'roll-requested', roll: undefined });

    // Act
    await pass();

    // Assess
    expect(
      IncidentEscalatedDetail.parse(env.publisher.published[0]?.detail)
        .nextSteps[0]
    ).toBe(`Grow ${NODE_NAME}'s node group volume by hand.`);
  });

  it('says what is left when a roll stuck before its version, and when its rollout had started', async () => {
    // Prepare
    seed({ step: 'roll-starting', roll: { request: aRollRequest() } });
    env.incidents.seed(
      anIncident({
        key: {
          cluster: CLUSTER,
          node: 'ip-10-0-2-7.ec2.internal',
          scope: 'live',
        },
        incidentId: 'other',
        node: { name: 'ip-10-0-2-7.ec2.internal' },
        step: 'roll-started',
        due: DUE,
        roll: {
          request: aRollRequest(),
          rollout: { kind: 'eks-nodegroup-update', id: 'update-0009' },
        },
      })
    );

    // Act
    await pass();

    // Assess
    const steps = env.publisher.published.map(
      (e) => IncidentEscalatedDetail.parse(e.detail).nextSteps
    );
    expect(steps).toEqual(
      expect.arrayContaining([
        expect.arrayContaining([
          'No template version was made yet: grow the volume to 100 GiB or more by hand.',
          'No rollout was started.',
        ]),
        expect.arrayContaining([
          'A eks-nodegroup-update update-0009 was started: follow it to its end.',
        ]),
      ])
    );
  });

  it('asks for the group minimum when a stuck roll recorded no request', async () => {
    // Prepare
    seed({ step: 'roll-starting', roll: undefined });

    // Act
    await pass();

    // Assess
    expect(
      IncidentEscalatedDetail.parse(env.publisher.published[0]?.detail)
        .nextSteps[0]
    ).toBe(
      'No template version was made yet: grow the volume to 100 GiB or more by hand.'
    );
  });

  it('tells a person when a replaced node has no pod that started, naming none it does not know', async () => {
    // Prepare
    seed({ step: 'roll-completed', pod: undefined });

    // Act
    await pass();

    // Assess
    const told = IncidentEscalatedDetail.parse(
      env.publisher.published[0]?.detail
    );
    expect(told.reason).toContain(
      'was rolled to a bigger volume, but the stuck pod has not started'
    );
    expect(told.nextSteps[0]).toBe('Look at it: kubectl describe pod <pod>');
  });

  it('repeats what the prune said when it tells a person the pod has not started', async () => {
    // Prepare
    seed({
      step: 'recovering',
      timeline: [
        ...anIncident().timeline,
        {
          at: '2026-11-20T09:42:00.000Z',
          step: 'prune-completed',
          detail: 'Success: the prune freed 16.0 GiB',
        },
      ],
    });

    // Act
    await pass();

    // Assess
    expect(
      IncidentEscalatedDetail.parse(env.publisher.published[0]?.detail)
        .nextSteps
    ).toContain('The prune said: Success: the prune freed 16.0 GiB');
  });

  it('drives nothing in dry-run or with the kill switch on', async () => {
    // Prepare
    seed();

    // Act
    const dry = await reconcile(
      new Date(NOW),
      { ...DRY_RUN, scope: 'dry-run' },
      env,
      25
    );
    const off = await reconcile(new Date(NOW), OFF, env, 25);

    // Assess
    expect([dry.looked, off.looked]).toEqual([0, 0]);
    expect(env.incidents.callCount('due')).toBe(0);
    expect(stored()?.step).toBe('prune-sent');
  });

  it('looks at nothing before its deadline', async () => {
    // Prepare
    seed({ due: '2026-11-20T11:00:00.000Z' });

    // Act
    const report = await pass();

    // Assess
    expect(report.looked).toBe(0);
  });
});
