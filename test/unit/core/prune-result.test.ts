import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '#core/policy.ts';
import {
  decidePrune,
  handlePruneResult,
  type PruneOutcome,
} from '#core/prune-result.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import {
  IncidentEscalatedDetail,
  NodePruneCompletedDetail,
  PodRestartRequestedDetail,
  type PruneReport,
  VolumeRollRequestedDetail,
} from '#events/schemas.ts';
import { createFakeEnvironment } from '#test/fakes/environment.ts';
import { accessDenied } from '#test/fakes/failure-plan.ts';
import { detailOf, dryRunOf } from '#test/helpers/bus.ts';
import {
  anIncident,
  anInvocation,
  anOrigin,
  anSsmDetail,
  aPruneReport,
  asEvent,
  CLUSTER,
  DRY_RUN,
  GiB,
  INSTANCE_ID,
  LIVE,
  NODE_NAME,
  OFF,
  pruneStdout,
  SEED_IMAGE,
  SEED_POD,
} from '#test/helpers/fixtures.ts';

const NOW = '2026-11-20T09:42:10.000Z';

const typesOf = (emitted: { detailType: string }[]) =>
  emitted.map((e) => e.detailType);

/** What a concluded prune emits (a test of a look-again says so itself). */
const emittedOf = (outcome: PruneOutcome) => {
  if (outcome.kind !== 'done') throw new Error(`not done: ${outcome.kind}`);
  return outcome.emitted;
};

describe('Function: decidePrune', () => {
  it('returns recovering when the prune succeeded, freed enough and the volume is big enough', () => {
    // Prepare
    const report = aPruneReport({ freeBytesAfter: 16 * GiB });

    // Act
    const verdict = decidePrune(anInvocation(), report, 100, DEFAULT_POLICY);

    // Assess
    expect(verdict).toEqual({
      outcome: 'recovering',
      reason: 'the prune freed 16.0 GiB; 16.0 GiB (80%) is free',
    });
  });

  it('says so when a command ended in error with a result line and no error anywhere', () => {
    // Act
    const verdict = decidePrune(
      anInvocation({ status: 'Cancelled', statusDetails: undefined }),
      aPruneReport({ freeBytesAfter: 16 * GiB }),
      100,
      DEFAULT_POLICY
    );

    // Assess
    expect(verdict).toEqual({
      outcome: 'recovering',
      reason:
        'the prune command ended Cancelled: no error given; the prune freed 16.0 GiB; 16.0 GiB (80%) is free',
    });
  });

  it('returns recovering when the volume size is unknown and enough is free', () => {
    // Act
    const verdict = decidePrune(
      anInvocation(),
      aPruneReport({ freeBytesAfter: 10 * GiB }),
      undefined,
      DEFAULT_POLICY
    );

    // Assess
    expect(verdict.outcome).toBe('recovering');
  });

  it('returns roll when too little is free after the prune', () => {
    // Prepare
    const report = aPruneReport({
      bytesFreed: 512 * 1024 ** 2,
      freeBytesAfter: 2 * GiB,
    });

    // Act
    const verdict = decidePrune(anInvocation(), report, 200, DEFAULT_POLICY);

    // Assess
    expect(verdict).toEqual({
      outcome: 'roll',
      cause: 'too-little-freed',
      reason: 'the prune freed 512.0 MiB but only 10% is free (floor 20%)',
    });
  });

  it('returns roll when the report says the filesystem has no size', () => {
    // Act
    const verdict = decidePrune(
      anInvocation(),
      aPruneReport({ fsBytesTotal: 0 }),
      200,
      DEFAULT_POLICY
    );

    // Assess
    expect(verdict).toEqual({
      outcome: 'roll',
      cause: 'too-little-freed',
      reason: 'the prune freed 16.0 GiB but only 0% is free (floor 20%)',
    });
  });

  it('returns roll when the volume is below the group minimum', () => {
    // Prepare
    const report = aPruneReport({ freeBytesAfter: 16 * GiB });

    // Act
    const verdict = decidePrune(anInvocation(), report, 20, DEFAULT_POLICY);

    // Assess
    expect(verdict).toEqual({
      outcome: 'roll',
      cause: 'below-minimum',
      reason:
        'the prune freed 16.0 GiB (80% free), but the volume is 20 GiB, below the group minimum of 100 GiB',
    });
  });

  it('returns roll with the last lines of stderr when the command failed', () => {
    // Prepare
    const stderr = [
      'pullmedic-prune: line 1',
      'line 2',
      'line 3',
      'line 4',
      'line 5',
      'crictl: error: rpc error: code = Unavailable',
      '',
    ].join('\n');
    const invocation = anInvocation({
      status: 'Failed',
      statusDetails: 'Failed',
      responseCode: 1,
      stdout: '',
      stderr,
    });

    // Act
    const verdict = decidePrune(invocation, undefined, 20, DEFAULT_POLICY);

    // Assess
    expect(verdict).toEqual({
      outcome: 'roll',
      cause: 'prune-failed',
      reason: 'the prune command ended Failed',
      commandError:
        'line 2\nline 3\nline 4\nline 5\ncrictl: error: rpc error: code = Unavailable',
    });
  });

  it('returns roll naming the status details when the command ran out of time', () => {
    // Prepare
    const invocation = anInvocation({
      status: 'TimedOut',
      statusDetails: 'ExecutionTimedOut',
      stdout: '',
      stderr: 'pullmedic-prune: removing 12 images\n  \n',
    });

    // Act
    const verdict = decidePrune(invocation, undefined, 20, DEFAULT_POLICY);

    // Assess
    expect(verdict).toEqual({
      outcome: 'roll',
      cause: 'prune-failed',
      reason: 'the prune command ended TimedOut (ExecutionTimedOut)',
      commandError: 'pullmedic-prune: removing 12 images',
    });
  });

  it('returns roll without a command error when the script ran and says nothing of it', () => {
    // Prepare
    const invocation = {
      status: 'Cancelled',
      stdout: 'pullmedic-prune: before: 19 GiB used\n',
      stderr: '',
    };

    // Act
    const verdict = decidePrune(invocation, undefined, 20, DEFAULT_POLICY);

    // Assess
    expect(verdict).toEqual({
      outcome: 'roll',
      cause: 'prune-failed',
      reason: 'the prune command ended Cancelled',
    });
  });

  // Finding 8: with the root volume 100% full the SSM agent cannot write
  // the script (under /var/lib/amazon/ssm): the command fails in seconds,
  // with not a line of ours. That is no reason to replace the node group.
  it.each([
    [
      'the agent could not write the script',
      {
        status: 'Failed',
        statusDetails: 'Failed',
        stdout: '',
        stderr:
          'failed to run commands: mkdir /var/lib/amazon/ssm/i-0abc/document/orchestration/cmd: no space left on device',
      },
    ],
    [
      'the command never reached the agent',
      {
        status: 'Failed',
        statusDetails: 'Undeliverable',
        stdout: '',
        stderr: '',
      },
    ],
    [
      'the agent never picked it up',
      {
        status: 'TimedOut',
        statusDetails: 'DeliveryTimedOut',
        stdout: '',
        stderr: '',
      },
    ],
  ])(
    'escalates, and does not roll, when %s on a volume at the minimum',
    (_, invocation) => {
      // Act
      const verdict = decidePrune(invocation, undefined, 100, DEFAULT_POLICY);

      // Assess
      expect(verdict).toMatchObject({
        outcome: 'escalate',
        reason: expect.stringContaining(
          'the SSM agent could not run the prune; the disk may be too full for it'
        ),
      });
    }
  );

  it('rolls a prune that never ran only when the volume is below the group minimum', () => {
    // Act
    const verdict = decidePrune(
      { status: 'Failed', statusDetails: 'Failed', stdout: '', stderr: '' },
      undefined,
      20,
      DEFAULT_POLICY
    );

    // Assess
    expect(verdict).toMatchObject({
      outcome: 'roll',
      cause: 'below-minimum',
      reason: expect.stringContaining('below the group minimum of 100 GiB'),
    });
  });

  it("returns roll with the report's errors when a failed command still reported", () => {
    // Prepare
    const invocation = anInvocation({ status: 'Failed', stderr: 'ignored' });
    const report = aPruneReport({
      errors: ['crictl rmi failed', 'ctr not found'],
    });

    // Act
    const verdict = decidePrune(invocation, report, 20, DEFAULT_POLICY);

    // Assess
    expect(verdict).toMatchObject({
      commandError: 'crictl rmi failed; ctr not found',
    });
  });

  it('returns roll with at most 4096 characters of command error', () => {
    // Prepare
    const invocation = anInvocation({
      status: 'Failed',
      stderr: 'x'.repeat(10_000),
    });

    // Act
    const verdict = decidePrune(invocation, undefined, 20, DEFAULT_POLICY);

    // Assess
    expect(verdict.outcome === 'roll' && verdict.commandError).toHaveLength(
      4096
    );
  });

  it('returns roll when a successful command printed no result line', () => {
    // Prepare
    const invocation = anInvocation({
      stdout: 'pruning…\n',
      stderr: 'jq: command not found\n',
    });

    // Act
    const verdict = decidePrune(invocation, undefined, 100, DEFAULT_POLICY);

    // Assess
    expect(verdict).toEqual({
      outcome: 'roll',
      cause: 'prune-failed',
      reason: 'the prune printed no result line',
      commandError: 'jq: command not found',
    });
  });
});

describe('Function: handlePruneResult', () => {
  const env = createFakeEnvironment();
  const incident = anIncident();

  beforeEach(() => {
    env.reset();
    env.clock.set(NOW);
    env.incidents.seed(incident);
    env.incidents.seedCommand('cmd-0001', incident);
    env.nodes.addNode(NODE_NAME, anOrigin());
  });

  const withVolume = (sizeGiB: number) =>
    env.nodes.addNode(
      NODE_NAME,
      anOrigin({ volumes: [{ deviceName: '/dev/xvda', sizeGiB }] })
    );

  /** The prune command ended Failed (exit 1) with this output. */
  const handleFailedPrune = (output: { stdout: string; stderr?: string }) => {
    env.commands.setInvocation(
      'cmd-0001',
      INSTANCE_ID,
      anInvocation({
        status: 'Failed',
        statusDetails: 'Failed',
        responseCode: 1,
        ...output,
      })
    );
    return handlePruneResult(anSsmDetail({ status: 'Failed' }), LIVE, env).then(
      emittedOf
    );
  };

  it('does nothing when no incident sent the command', async () => {
    // Act
    const emitted = emittedOf(
      await handlePruneResult(
        anSsmDetail({ 'command-id': 'cmd-by-hand' }),
        LIVE,
        env
      )
    );

    // Assess
    expect(emitted).toEqual([]);
    expect(env.commands.callCount('getInvocation')).toBe(0);
    expect(env.nodes.callCount('origin')).toBe(0);
    expect(env.incidents.callCount('appendTimeline')).toBe(0);
  });

  it('reports recovering and asks for no roll when the prune freed enough on a big volume', async () => {
    // Prepare
    withVolume(200);
    const report = aPruneReport({
      fsBytesTotal: 200 * GiB,
      freeBytesAfter: 150 * GiB,
    });
    env.commands.setInvocation(
      'cmd-0001',
      INSTANCE_ID,
      anInvocation({ stdout: pruneStdout(report) })
    );

    // Act
    const emitted = emittedOf(
      await handlePruneResult(anSsmDetail(), LIVE, env)
    );

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.podRestartRequested,
    ]);
    expect(NodePruneCompletedDetail.parse(emitted[0]?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME, instanceId: INSTANCE_ID },
      dryRun: false,
      incidentId: incident.incidentId,
      commandId: 'cmd-0001',
      status: 'Success',
      report,
      outcome: 'recovering',
      reason: 'the prune freed 16.0 GiB; 150.0 GiB (75%) is free',
      volumeSizeGiB: 200,
      volumeDeviceName: '/dev/xvda',
      volumeRule: 'root-volume',
    });
    expect(env.incidents.incidents()[0]).toMatchObject({
      step: 'recovering',
      // The pod should start within the recovery deadline.
      due: '2026-11-20T09:57:10.000Z',
    });
    expect(env.incidents.incidents()[0]?.timeline.at(-1)).toEqual({
      at: NOW,
      step: 'prune-completed',
      eventId: 'event-1',
      detail: 'Success: the prune freed 16.0 GiB; 150.0 GiB (75%) is free',
      restarts: [SEED_POD],
    });
    expect(env.commands.calls.getInvocation).toEqual([
      { commandId: 'cmd-0001', instanceId: INSTANCE_ID },
    ]);
  });

  describe('when the prune left room', () => {
    const VLLM = { namespace: 'inference', name: 'vllm-5d9c7b6f4-x2k8q' };
    const recovered = () => {
      withVolume(200);
      env.commands.setInvocation(
        'cmd-0001',
        INSTANCE_ID,
        anInvocation({
          stdout: pruneStdout(
            aPruneReport({ fsBytesTotal: 200 * GiB, freeBytesAfter: 150 * GiB })
          ),
        })
      );
    };

    it("asks the cluster agent to restart the incident's stuck pods now, its own first, each once", async () => {
      // Prepare: two more pods of the node joined, one of them twice.
      env.incidents.seed(anIncident({ pods: [VLLM, { ...SEED_POD }, VLLM] }));
      recovered();

      // Act
      const emitted = emittedOf(
        await handlePruneResult(anSsmDetail(), LIVE, env)
      );

      // Assess
      expect(typesOf(emitted)).toEqual([
        DETAIL_TYPES.nodePruneCompleted,
        DETAIL_TYPES.podRestartRequested,
      ]);
      expect(PodRestartRequestedDetail.parse(emitted[1]?.detail)).toEqual({
        cluster: CLUSTER,
        node: { name: NODE_NAME, instanceId: INSTANCE_ID },
        dryRun: false,
        incidentId: incident.incidentId,
        image: SEED_IMAGE,
        pods: [SEED_POD, VLLM],
        after: 'prune',
        maxPods: DEFAULT_POLICY.maxPodRestarts,
        requestedAt: NOW,
      });
    });

    it('asks for no restart when restarts are turned off, or the incident names no pod', async () => {
      // Prepare
      recovered();
      env.policy.maxPodRestarts = 0;
      const off = emittedOf(await handlePruneResult(anSsmDetail(), LIVE, env));
      env.policy.maxPodRestarts = 10;
      env.incidents.seed(anIncident({ pod: undefined }));

      // Act
      const podless = emittedOf(
        await handlePruneResult(anSsmDetail(), asEvent(LIVE, 'event-2'), env)
      );

      // Assess
      expect(typesOf(off)).toEqual([DETAIL_TYPES.nodePruneCompleted]);
      expect(typesOf(podless)).toEqual([DETAIL_TYPES.nodePruneCompleted]);
    });
  });

  it('asks for a volume roll when the volume is below the group minimum', async () => {
    // Prepare
    env.commands.setInvocation('cmd-0001', INSTANCE_ID, anInvocation());

    // Act
    const emitted = emittedOf(
      await handlePruneResult(anSsmDetail(), LIVE, env)
    );

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.volumeRollRequested,
      DETAIL_TYPES.podRestartRequested,
    ]);
    expect(emitted[0]?.detail).toMatchObject({
      outcome: 'roll',
      volumeSizeGiB: 20,
    });
    expect(VolumeRollRequestedDetail.parse(emitted[1]?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME, instanceId: INSTANCE_ID },
      dryRun: false,
      incidentId: incident.incidentId,
      reason:
        'the prune freed 16.0 GiB (83% free), but the volume is 20 GiB, below the group minimum of 100 GiB',
      currentSizeGiB: 20,
      minimumSizeGiB: 100,
      cause: 'below-minimum',
      deviceName: '/dev/xvda',
      volumeRule: 'root-volume',
    });
    expect(env.incidents.incidents()[0]).toMatchObject({
      step: 'roll-requested',
      roll: { request: { cause: 'below-minimum' } },
    });
  });

  it('says the same again when the same status event is delivered twice, and asks for one roll', async () => {
    // Prepare
    env.commands.setInvocation('cmd-0001', INSTANCE_ID, anInvocation());
    const first = emittedOf(await handlePruneResult(anSsmDetail(), LIVE, env));

    // Act
    const again = emittedOf(await handlePruneResult(anSsmDetail(), LIVE, env));

    // Assess
    expect(again).toEqual(first);
    expect(env.incidents.incidents()[0]?.step).toBe('roll-requested');
  });

  it('says nothing when another status event (another id) for the command comes after the first', async () => {
    // Prepare
    env.commands.setInvocation('cmd-0001', INSTANCE_ID, anInvocation());
    await handlePruneResult(anSsmDetail(), LIVE, env);

    // Act
    const other = emittedOf(
      await handlePruneResult(anSsmDetail(), asEvent(LIVE, 'event-2'), env)
    );

    // Assess
    expect(other).toEqual([]);
  });

  // Finding 7: the status can arrive before remediate wrote the command's
  // pointer; it was dropped.
  it("finds the incident through the intent id in the command's Comment when the status overtook the pointer", async () => {
    // Prepare
    env.incidents.reset();
    env.incidents.seed(incident);
    await env.incidents.pointIntent(
      incident.key,
      incident.incidentId,
      'event-remediate'
    );
    env.commands.sent.push({
      commandId: 'cmd-0001',
      instanceId: INSTANCE_ID,
      comment: `pullmedic event-remediate ${incident.incidentId}`,
    });
    env.commands.setInvocation('cmd-0001', INSTANCE_ID, anInvocation());

    // Act
    const emitted = emittedOf(
      await handlePruneResult(anSsmDetail(), LIVE, env)
    );

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.volumeRollRequested,
      DETAIL_TYPES.podRestartRequested,
    ]);
    expect((await env.incidents.findByCommand('cmd-0001'))?.incidentId).toBe(
      incident.incidentId
    );
  });

  it('does nothing with a command whose Comment names an intent no incident holds', async () => {
    // Prepare
    env.commands.sent.push({
      commandId: 'cmd-other',
      instanceId: INSTANCE_ID,
      comment:
        'pullmedic event-unknown prod/ip-10-0-9-9.ec2.internal/20261120T000000Z',
    });

    // Act
    const emitted = emittedOf(
      await handlePruneResult(
        anSsmDetail({ 'command-id': 'cmd-other' }),
        LIVE,
        env
      )
    );

    // Assess
    expect(emitted).toEqual([]);
    expect(env.commands.callCount('getInvocation')).toBe(0);
  });

  it('looks again later when GetCommandInvocation does not have the final status yet', async () => {
    // Prepare
    env.commands.setInvocation(
      'cmd-0001',
      INSTANCE_ID,
      anInvocation({ status: 'InProgress', stdout: '' })
    );

    // Act
    const outcome = await handlePruneResult(anSsmDetail(), LIVE, env);

    // Assess
    expect(outcome).toEqual({ kind: 'look-again', seconds: 60 });
    expect(env.incidents.incidents()[0]?.step).toBe('prune-sent');
  });

  // Finding 8, through the event: once more after a short wait, then a
  // person; no roll of a group whose volume is at the minimum.
  it('looks again once at a prune that never ran, then escalates without a roll', async () => {
    // Prepare
    withVolume(100);
    env.commands.setInvocation('cmd-0001', INSTANCE_ID, {
      status: 'Failed',
      statusDetails: 'Failed',
      stdout: '',
      stderr: 'mkdir /var/lib/amazon/ssm: no space left on device',
    });

    // Act
    const first = await handlePruneResult(
      anSsmDetail({ status: 'Failed' }),
      LIVE,
      env
    );
    const second = emittedOf(
      await handlePruneResult(anSsmDetail({ status: 'Failed' }), LIVE, env)
    );

    // Assess
    expect(first).toEqual({ kind: 'look-again', seconds: 60 });
    expect(typesOf(second)).toEqual([
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(second[0]?.detail).toMatchObject({ outcome: 'escalate' });
    expect(IncidentEscalatedDetail.parse(second[1]?.detail).reason).toContain(
      'the SSM agent could not run the prune; the disk may be too full for it'
    );
    expect(env.incidents.incidents()[0]).toMatchObject({ step: 'escalated' });
    expect(env.incidents.incidents()[0]?.due).toBeUndefined();
  });

  it('escalates at once, with what to do, when reading the invocation is denied', async () => {
    // Prepare
    env.commands.failures.always('getInvocation', accessDenied());

    // Act
    const emitted = emittedOf(
      await handlePruneResult(anSsmDetail(), LIVE, env)
    );

    // Assess
    expect(typesOf(emitted)).toEqual([DETAIL_TYPES.incidentEscalated]);
    expect(
      IncidentEscalatedDetail.parse(emitted[0]?.detail).nextSteps[0]
    ).toContain("prune-result function's role");
  });

  it('does nothing with the kill switch on: the incident stays due for when pullmedic is back', async () => {
    // Act
    const emitted = emittedOf(await handlePruneResult(anSsmDetail(), OFF, env));

    // Assess
    expect(emitted).toEqual([]);
    expect(env.commands.callCount('getInvocation')).toBe(0);
    expect(env.incidents.incidents()[0]?.step).toBe('prune-sent');
  });

  it('reports the command error and asks for a roll when the command failed without a result line', async () => {
    // Act
    const emitted = await handleFailedPrune({
      stdout: 'pullmedic-prune: pruning unused images with crictl\n',
      stderr: 'failed to connect to containerd.sock\n',
    });

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.volumeRollRequested,
    ]);
    expect(emitted[0]?.detail).toMatchObject({
      status: 'Failed',
      report: null,
      outcome: 'roll',
      reason: 'the prune command ended Failed',
      commandError: 'failed to connect to containerd.sock',
    });
  });

  it('reads the result line of a failed command: the pause image it could not restore escalates, the space freed counts', async () => {
    // Prepare
    withVolume(200);
    const error =
      'sandbox image 602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/pause:3.9 is missing and could not be restored: new pods will fail (FailedCreatePodSandBox)';
    const report = aPruneReport({
      fsBytesTotal: 200 * GiB,
      freeBytesAfter: 150 * GiB,
      pauseImageIntact: false,
      errors: [error],
    });

    // Act
    const emitted = await handleFailedPrune({ stdout: pruneStdout(report) });

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(emitted[0]?.detail).toMatchObject({
      status: 'Failed',
      report,
      outcome: 'recovering',
      reason: expect.stringMatching(
        /^the prune command ended Failed: sandbox image .* could not be restored.*; the prune freed 16\.0 GiB/
      ),
    });
    expect(emitted[1]?.detail).toMatchObject({
      reason: expect.stringContaining('is missing after the prune'),
    });
  });

  it('asks for a roll, with the errors, when a failed command freed too little', async () => {
    // Prepare
    const report = aPruneReport({
      freeBytesAfter: 1 * GiB,
      errors: ['crictl rmi nginx:1.25: image is in use by a container'],
    });

    // Act
    const emitted = await handleFailedPrune({ stdout: pruneStdout(report) });

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.volumeRollRequested,
    ]);
    expect(emitted[0]?.detail).toMatchObject({
      outcome: 'roll',
      commandError: 'crictl rmi nginx:1.25: image is in use by a container',
      reason: expect.stringContaining('only 5% is free'),
    });
  });

  it('escalates as well when the pause image is missing after the prune', async () => {
    // Prepare
    withVolume(200);
    const report = aPruneReport({
      fsBytesTotal: 200 * GiB,
      freeBytesAfter: 150 * GiB,
      pauseImageIntact: false,
    });
    env.commands.setInvocation(
      'cmd-0001',
      INSTANCE_ID,
      anInvocation({ stdout: pruneStdout(report) })
    );

    // Act
    const emitted = emittedOf(
      await handlePruneResult(anSsmDetail(), LIVE, env)
    );

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(IncidentEscalatedDetail.parse(emitted[1]?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME, instanceId: INSTANCE_ID },
      dryRun: false,
      incidentId: incident.incidentId,
      reason: `the pause image 602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/pause:3.9 is missing after the prune: new pods on ${NODE_NAME} cannot start`,
      nextSteps: [
        `Restore the sandbox image on ${NODE_NAME} (AL2: sudo systemctl restart sandbox-image; else pull it with ctr -n k8s.io images pull using the ECR credentials).`,
        `Cordon ${NODE_NAME} until it is back.`,
      ],
    });
  });

  it('escalates without naming the pause image when the report does not', async () => {
    // Prepare
    const report = aPruneReport({ pauseImage: null, pauseImageIntact: false });
    env.commands.setInvocation(
      'cmd-0001',
      INSTANCE_ID,
      anInvocation({ stdout: pruneStdout(report) })
    );

    // Act
    const emitted = emittedOf(
      await handlePruneResult(anSsmDetail(), LIVE, env)
    );

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.incidentEscalated,
      DETAIL_TYPES.volumeRollRequested,
    ]);
    expect(detailOf(emitted[1], DETAIL_TYPES.incidentEscalated).reason).toBe(
      `the pause image  is missing after the prune: new pods on ${NODE_NAME} cannot start`
    );
  });

  it("leaves the volume size out when the instance's containerd volume is unknown", async () => {
    // Prepare
    env.nodes.addNode(NODE_NAME, anOrigin({ volumes: [] }));
    env.commands.setInvocation(
      'cmd-0001',
      INSTANCE_ID,
      anInvocation({ stdout: 'no result\n' })
    );

    // Act
    const emitted = emittedOf(
      await handlePruneResult(anSsmDetail(), LIVE, env)
    );

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.volumeRollRequested,
    ]);
    expect(emitted[0]?.detail).not.toHaveProperty('volumeSizeGiB');
    expect(emitted[1]?.detail).not.toHaveProperty('currentSizeGiB');
    expect(emitted[1]?.detail).toMatchObject({ minimumSizeGiB: 100 });
  });

  // Finding 5: in dry-run, the roll request used up the live incident's
  // one roll: back in live, the incident could never roll.
  it('marks the events dry-run in dry-run, and leaves the live incident as it was', async () => {
    // Prepare
    env.commands.setInvocation('cmd-0001', INSTANCE_ID, anInvocation());

    // Act
    const dry = emittedOf(await handlePruneResult(anSsmDetail(), DRY_RUN, env));
    const live = emittedOf(
      await handlePruneResult(anSsmDetail(), asEvent(LIVE, 'event-2'), env)
    );

    // Assess
    expect(dry.map(dryRunOf)).toEqual([true, true, true]);
    expect(typesOf(live)).toEqual([
      DETAIL_TYPES.nodePruneCompleted,
      DETAIL_TYPES.volumeRollRequested,
      DETAIL_TYPES.podRestartRequested,
    ]);
    expect(live.map(dryRunOf)).toEqual([false, false, false]);
  });

  describe('when containerd has a volume of its own (the nodeadm layout)', () => {
    const ROOT_ID = 'vol-0aaaaaaaaaaaaaaa1';
    const DATA_ID = 'vol-0bbbbbbbbbbbbbbb2';

    beforeEach(() => {
      // A 100 GiB root, at the group minimum; containerd on 20 GiB.
      env.nodes.addNode(
        NODE_NAME,
        anOrigin({
          volumes: [
            { deviceName: '/dev/xvda', sizeGiB: 100, volumeId: ROOT_ID },
            { deviceName: '/dev/xvdb', sizeGiB: 20, volumeId: DATA_ID },
          ],
        })
      );
    });

    const pruned = (volume: PruneReport['volume']) => {
      env.commands.setInvocation(
        'cmd-0001',
        INSTANCE_ID,
        anInvocation({ stdout: pruneStdout(aPruneReport({ volume })) })
      );
      return handlePruneResult(anSsmDetail(), LIVE, env).then(emittedOf);
    };

    it('checks the group minimum on the volume the prune measured, and asks to grow that device', async () => {
      // Act
      const emitted = await pruned({ id: DATA_ID, device: '/dev/nvme1n1' });

      // Assess
      expect(emitted[0]?.detail).toMatchObject({
        outcome: 'roll',
        volumeSizeGiB: 20,
        volumeDeviceName: '/dev/xvdb',
        volumeRule: 'prune-report',
      });
      expect(VolumeRollRequestedDetail.parse(emitted[1]?.detail)).toMatchObject(
        {
          cause: 'below-minimum',
          currentSizeGiB: 20,
          deviceName: '/dev/xvdb',
          volumeRule: 'prune-report',
        }
      );
    });

    it('lets the root be when the prune measured the root', async () => {
      // Act
      const emitted = await pruned({ id: ROOT_ID, device: '/dev/nvme0n1' });

      // Assess
      expect(typesOf(emitted)).toEqual([
        DETAIL_TYPES.nodePruneCompleted,
        DETAIL_TYPES.podRestartRequested,
      ]);
      expect(emitted[0]?.detail).toMatchObject({
        outcome: 'recovering',
        volumeSizeGiB: 100,
        volumeDeviceName: '/dev/xvda',
        volumeRule: 'prune-report',
      });
    });

    it("falls back to the instance's data volume, and says so, when an older script names no volume", async () => {
      // Act
      const emitted = await pruned(undefined);

      // Assess
      expect(emitted[1]?.detail).toMatchObject({
        deviceName: '/dev/xvdb',
        currentSizeGiB: 20,
        volumeRule: 'instance-data-volume',
      });
    });
  });
});
