import { beforeEach, describe, expect, it } from 'vitest';
import { watchRollout } from '#core/watch-rollout.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import {
  IncidentEscalatedDetail,
  PodRestartRequestedDetail,
  VolumeRollCompletedDetail,
  type VolumeRollStartedDetail,
} from '#events/schemas.ts';
import { createFakeEnvironment } from '#test/fakes/environment.ts';
import { accessDenied, throttled } from '#test/fakes/failure-plan.ts';
import {
  anIncident,
  asEvent,
  CLUSTER,
  INSTANCE_ID,
  LAUNCH_TEMPLATE_ID,
  LIVE,
  NODE_NAME,
  NODEGROUP,
} from '#test/helpers/fixtures.ts';

const NOW = '2026-11-20T10:00:00.000Z';
const INCIDENT_ID = anIncident().incidentId;

const started = (
  overrides: Partial<VolumeRollStartedDetail> = {}
): VolumeRollStartedDetail => ({
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
  ...overrides,
});

describe('Function: watchRollout', () => {
  const env = createFakeEnvironment();

  beforeEach(() => {
    env.reset();
    env.clock.set(NOW);
    // As roll-volume leaves it: the rollout started, its end awaited.
    env.incidents.seed(
      anIncident({
        step: 'roll-started',
        stepBy: 'event-roll-volume',
        due: '2026-11-20T10:10:00.000Z',
      })
    );
  });

  it('asks to look again while the rollout is in progress', async () => {
    // Prepare
    env.rollouts.statuses = [
      { status: 'InProgress', done: false, succeeded: false, errors: [] },
    ];

    // Act
    const result = await watchRollout(started(), 0, 72, LIVE, env);

    // Assess
    expect(result).toEqual({ kind: 'again' });
    expect(env.rollouts.calls.describeRollout).toEqual([
      {
        kind: 'eks-nodegroup-update',
        id: 'update-0001',
        cluster: CLUSTER,
        group: NODEGROUP,
      },
    ]);
  });

  it('emits how the rollout ended and notes it on the timeline', async () => {
    // Prepare
    env.rollouts.statuses = [
      {
        status: 'Failed',
        done: true,
        succeeded: false,
        errors: ['NodeCreationFailure: x'],
      },
    ];

    // Act
    const result = await watchRollout(
      started({ rollout: { kind: 'asg-instance-refresh', id: 'ir-1' } }),
      4,
      72,
      LIVE,
      env
    );

    // Assess
    if (result.kind !== 'done') throw new Error('expected done');
    expect(result.emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.volumeRollCompleted,
    ]);
    expect(
      VolumeRollCompletedDetail.parse(result.emitted[0]?.detail)
    ).toMatchObject({
      status: 'Failed',
      succeeded: false,
      errors: ['NodeCreationFailure: x'],
      checks: 5,
      rollout: { kind: 'asg-instance-refresh', id: 'ir-1' },
    });
    expect(env.incidents.incidents()[0]?.timeline.at(-1)).toEqual({
      at: NOW,
      step: 'roll-completed',
      eventId: 'event-1',
      detail: 'asg-instance-refresh ir-1: Failed',
    });
    // The pod should now start on a replaced node, within the deadline.
    expect(env.incidents.incidents()[0]).toMatchObject({
      step: 'roll-completed',
      due: '2026-11-20T10:15:00.000Z',
    });
  });

  it("asks the cluster agent to restart the incident's pods once a rollout replaced the node", async () => {
    // Prepare
    env.rollouts.statuses = [
      { status: 'Successful', done: true, succeeded: true, errors: [] },
    ];

    // Act
    const result = await watchRollout(started(), 2, 72, LIVE, env);

    // Assess
    if (result.kind !== 'done') throw new Error('expected done');
    expect(result.emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.volumeRollCompleted,
      DETAIL_TYPES.podRestartRequested,
    ]);
    expect(
      PodRestartRequestedDetail.parse(result.emitted[1]?.detail)
    ).toMatchObject({
      incidentId: INCIDENT_ID,
      pods: [anIncident().pod],
      after: 'rollout',
      dryRun: false,
    });
  });

  it('asks only for the pods the prune did not ask for already', async () => {
    // Prepare
    const VLLM = { namespace: 'inference', name: 'vllm-5d9c7b6f4-x2k8q' };
    const incident = anIncident();
    env.incidents.seed(
      anIncident({
        step: 'roll-started',
        stepBy: 'event-roll-volume',
        pods: [VLLM, { namespace: 'batch', name: 'web-0' }],
        timeline: [
          ...incident.timeline,
          {
            at: '2026-11-20T09:42:10.000Z',
            step: 'prune-completed',
            detail: 'Success: …',
            restarts: [incident.pod as { namespace: string; name: string }],
          },
          {
            at: '2026-11-20T09:42:11.000Z',
            step: 'pod-restarted',
            detail: 'batch/web-0 deleted',
            pod: { namespace: 'batch', name: 'web-0' },
          },
        ],
      })
    );
    env.rollouts.statuses = [
      { status: 'Successful', done: true, succeeded: true, errors: [] },
    ];

    // Act
    const result = await watchRollout(started(), 2, 72, LIVE, env);

    // Assess
    if (result.kind !== 'done') throw new Error('expected done');
    expect(
      PodRestartRequestedDetail.parse(result.emitted[1]?.detail).pods
    ).toEqual([VLLM]);
  });

  it.each([
    ['was resolved while the rollout ran', { status: 'resolved' as const }],
    ['names no pod (a node-level failure)', { pod: undefined }],
  ])('asks for no restart when the incident %s', async (_, overrides) => {
    // Prepare
    env.incidents.seed(
      anIncident({
        step: 'roll-started',
        stepBy: 'event-roll-volume',
        ...overrides,
      })
    );
    env.rollouts.statuses = [
      { status: 'Successful', done: true, succeeded: true, errors: [] },
    ];

    // Act
    const result = await watchRollout(started(), 2, 72, LIVE, env);

    // Assess
    if (result.kind !== 'done') throw new Error('expected done');
    expect(result.emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.volumeRollCompleted,
    ]);
  });

  it('pushes the deadline at each look, so the reconciler knows someone watches', async () => {
    // Prepare
    env.rollouts.statuses = [
      { status: 'InProgress', done: false, succeeded: false, errors: [] },
    ];

    // Act
    await watchRollout(started(), 3, 72, LIVE, env);

    // Assess
    expect(env.incidents.incidents()[0]).toMatchObject({
      step: 'roll-started',
      due: '2026-11-20T10:15:00.000Z',
    });
  });

  it('pushes no deadline for an incident that no longer waits on the rollout (resolved meanwhile)', async () => {
    // Prepare
    env.incidents.seed(
      anIncident({ status: 'resolved', step: 'resolved', due: undefined })
    );
    env.rollouts.statuses = [
      { status: 'InProgress', done: false, succeeded: false, errors: [] },
    ];

    // Act
    const result = await watchRollout(started(), 3, 72, LIVE, env);

    // Assess
    expect(result).toEqual({ kind: 'again' });
    expect(env.incidents.callCount('progress')).toBe(0);
  });

  it('escalates at once when the rollout cannot be read for good', async () => {
    // Prepare
    env.rollouts.failures.always('describeRollout', accessDenied());

    // Act
    const result = await watchRollout(started(), 0, 72, LIVE, env);

    // Assess
    if (result.kind !== 'done') throw new Error('expected done');
    expect(result.emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(env.incidents.incidents()[0]?.step).toBe('escalated');
  });

  it('rethrows a failure that may pass', async () => {
    // Prepare
    env.rollouts.failures.once('describeRollout', throttled());

    // Act
    const look = watchRollout(started(), 0, 72, LIVE, env);

    // Assess
    await expect(look).rejects.toThrow('ThrottlingException');
  });

  it('says nothing when another look already saw the rollout end', async () => {
    // Prepare
    env.rollouts.statuses = [
      { status: 'Successful', done: true, succeeded: true, errors: [] },
    ];
    await watchRollout(started(), 0, 72, asEvent(LIVE, 'reconcile@x'), env);

    // Act
    const result = await watchRollout(started(), 1, 72, LIVE, env);

    // Assess
    expect(result).toEqual({ kind: 'done', emitted: [] });
  });

  it('tells a person when the rollout is still running after the last look', async () => {
    // Prepare
    env.rollouts.statuses = [
      { status: 'InProgress', done: false, succeeded: false, errors: [] },
    ];

    // Act
    const eks = await watchRollout(started(), 71, 72, LIVE, env);
    const asg = await watchRollout(
      started({ rollout: { kind: 'asg-instance-refresh', id: 'ir-9' } }),
      71,
      72,
      LIVE,
      env
    );

    // Assess
    if (eks.kind !== 'done' || asg.kind !== 'done')
      throw new Error('expected done');
    const detail = IncidentEscalatedDetail.parse(eks.emitted[0]?.detail);
    expect(detail.reason).toBe(
      `the eks-nodegroup-update update-0001 of ${NODEGROUP} is still InProgress after 72 checks`
    );
    expect(detail.nextSteps[0]).toContain('aws eks describe-update');
    expect(
      IncidentEscalatedDetail.parse(asg.emitted[0]?.detail).nextSteps[0]
    ).toContain('describe-instance-refreshes');
  });

  it('follows nothing when the roll was a dry run', async () => {
    // Act
    const result = await watchRollout(
      started({
        dryRun: true,
        rollout: { kind: 'eks-nodegroup-update', id: null },
      }),
      0,
      72,
      LIVE,
      env
    );

    // Assess
    expect(result).toEqual({ kind: 'done', emitted: [] });
    expect(env.rollouts.calls.describeRollout).toEqual([]);
  });
});
