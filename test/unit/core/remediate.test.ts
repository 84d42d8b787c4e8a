import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { escalation } from '#core/escalation.ts';
import { batchShared } from '#core/join-incident.ts';
import { pruneParameters, remediate } from '#core/remediate.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import {
  IncidentEscalatedDetail,
  IncidentOpenedDetail,
  NodePruneRequestedDetail,
  VolumeRollRequestedDetail,
} from '#events/schemas.ts';
import { createFakeEnvironment } from '#test/fakes/environment.ts';
import { notFound, serverError, throttled } from '#test/fakes/failure-plan.ts';
import { FakeNodeCommands } from '#test/fakes/fake-node-commands.ts';
import { detailOf } from '#test/helpers/bus.ts';
import {
  aBackOffDetail,
  aClassifiedDetail,
  aCrioTmpClassifiedDetail,
  anIncident,
  anOrigin,
  asEvent,
  CLUSTER,
  DRY_RUN,
  FAILED_AT,
  INSTANCE_ID,
  LIVE,
  NODE_NAME,
  OFF,
  replayRun,
  SEED_IMAGE,
  SEED_POD,
} from '#test/helpers/fixtures.ts';

const INCIDENT_ID = 'prod/ip-10-0-1-149.ec2.internal/20261120T094059Z';
const NOW = '2026-11-20T09:41:00.000Z';

const typesOf = (emitted: { detailType: string }[]) =>
  emitted.map((e) => e.detailType);

describe('Function: remediate', () => {
  const env = createFakeEnvironment();
  afterEach(() => vi.restoreAllMocks());

  beforeEach(() => {
    env.reset();
    env.clock.set(NOW);
    env.nodes.addNode(NODE_NAME, anOrigin());
  });

  it('opens an incident and sends the prune when a node first reports disk_full', async () => {
    // Prepare
    const classified = aClassifiedDetail();

    // Act
    const emitted = await remediate(classified, LIVE, env);

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.nodePruneRequested,
    ]);
    const [opened, requested] = emitted;
    expect(IncidentOpenedDetail.parse(opened?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME, instanceId: INSTANCE_ID },
      dryRun: false,
      incidentId: INCIDENT_ID,
      openedAt: '2026-11-20T09:40:59.000Z',
      class: 'disk_full',
      evidence: 'no space left on device',
      pod: SEED_POD,
      image: SEED_IMAGE,
    });
    expect(NodePruneRequestedDetail.parse(requested?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME, instanceId: INSTANCE_ID },
      dryRun: false,
      incidentId: INCIDENT_ID,
      commandId: 'cmd-0001',
      documentName: env.commands.documents.containerd,
      parameters: { DryRun: ['false'] },
      requestedAt: NOW,
    });
    expect(env.commands.calls.sendPrune).toEqual([
      {
        instanceId: INSTANCE_ID,
        documentName: env.commands.documents.containerd,
        parameters: { DryRun: ['false'] },
        // The intent id (the claiming event's id) first: a retry finds
        // the command by it.
        comment: `pullmedic event-1 ${INCIDENT_ID}`.slice(0, 100),
      },
    ]);
  });

  it('sends the Bottlerocket document to a Bottlerocket node', async () => {
    // Prepare
    env.nodes.reset();
    env.nodes.addNode(NODE_NAME, anOrigin({ amiFamily: 'bottlerocket' }));

    // Act
    const emitted = await remediate(aClassifiedDetail(), LIVE, env);

    // Assess
    expect(env.commands.calls.sendPrune.map((c) => c.documentName)).toEqual([
      env.commands.documents.bottlerocket,
    ]);
    expect(emitted[1]?.detail).toMatchObject({
      documentName: env.commands.documents.bottlerocket,
    });
  });

  it('escalates, with the Bottlerocket way to prune by hand, when no Bottlerocket document is deployed', async () => {
    // Prepare
    env.nodes.reset();
    env.nodes.addNode(NODE_NAME, anOrigin({ amiFamily: 'bottlerocket' }));
    const commands = new FakeNodeCommands({ containerd: 'pullmedic-test' });

    // Act
    const emitted = await remediate(aClassifiedDetail(), LIVE, {
      ...env,
      commands,
    });

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(IncidentEscalatedDetail.parse(emitted[1]?.detail)).toMatchObject({
      reason: expect.stringContaining(
        'no prune document for bottlerocket nodes is deployed'
      ),
      nextSteps: expect.arrayContaining([expect.stringContaining('sheltie')]),
    });
    expect(commands.callCount('sendPrune')).toBe(0);
  });

  it('leaves an open incident with its prune claimed and recorded when the prune is sent', async () => {
    // Act
    await remediate(aClassifiedDetail(), LIVE, env);

    // Assess
    expect(env.incidents.incidents()).toEqual([
      {
        key: { cluster: CLUSTER, node: NODE_NAME, scope: 'live' },
        incidentId: INCIDENT_ID,
        status: 'open',
        openedAt: '2026-11-20T09:40:59.000Z',
        node: { name: NODE_NAME, instanceId: INSTANCE_ID },
        class: 'disk_full',
        evidence: 'no space left on device',
        remedy: 'prune',
        pod: SEED_POD,
        image: SEED_IMAGE,
        // Sent: the result is due by SendCommand's and the document's
        // timeouts, and the reconciler looks then if it never came.
        step: 'prune-sent',
        stepBy: 'event-1',
        due: '2026-11-20T10:08:00.000Z',
        prune: {
          intentId: 'event-1',
          instanceId: INSTANCE_ID,
          amiFamily: 'al2023',
          documentName: env.commands.documents.containerd,
          claimedAt: NOW,
          commandId: 'cmd-0001',
          sentAt: NOW,
        },
        timeline: [
          {
            // The candidate's entry is stored as the event had it.
            at: FAILED_AT,
            step: 'classified',
            eventId: 'event-1',
            detail: 'Failed: disk_full (no space left on device)',
          },
          {
            at: NOW,
            step: 'prune-requested',
            eventId: 'event-1',
            detail: `sent ${env.commands.documents.containerd} to ${INSTANCE_ID} (command cmd-0001)`,
          },
        ],
      },
    ]);
    expect((await env.incidents.findByCommand('cmd-0001'))?.incidentId).toBe(
      INCIDENT_ID
    );
  });

  it('joins the open incident without a second prune or Opened when the node reports disk_full again', async () => {
    // Prepare
    await remediate(aClassifiedDetail(), LIVE, env);
    const again = aClassifiedDetail({
      kubernetesEvent: {
        ...aClassifiedDetail().kubernetesEvent,
        time: '2026-11-20T09:41:30Z',
        count: 2,
      },
    });

    // Act
    const emitted = await remediate(again, asEvent(LIVE, 'event-2'), env);

    // Assess
    expect(emitted).toEqual([]);
    expect(env.commands.callCount('sendPrune')).toBe(1);
    expect(env.incidents.incidents()).toHaveLength(1);
    expect(env.incidents.incidents()[0]?.incidentId).toBe(INCIDENT_ID);
  });

  it("joins the open incident its batch read already without the opening write, and notes the event's pod", async () => {
    // Prepare
    await remediate(aClassifiedDetail(), LIVE, env);
    const batch = { ...env, batch: { incidents: batchShared(env.incidents) } };
    const other = aClassifiedDetail({
      pod: { namespace: 'inference', name: 'vllm-5d9c7b6f4-x2k8q' },
    });
    const writesBefore = env.incidents.callCount('openOrJoin');

    // Act
    const emitted = await Promise.all([
      remediate(other, asEvent(LIVE, 'event-2'), batch),
      remediate(aClassifiedDetail(), asEvent(LIVE, 'event-3'), batch),
    ]);

    // Assess
    expect(emitted).toEqual([[], []]);
    expect(env.incidents.callCount('openOrJoin')).toBe(writesBefore);
    expect(env.incidents.callCount('get')).toBe(1);
    expect(env.commands.callCount('sendPrune')).toBe(1);
    expect(env.incidents.incidents()[0]?.pods).toEqual([other.pod]);
  });

  it('opens the incident through its write when the batch read none', async () => {
    // Prepare
    const batch = { ...env, batch: { incidents: batchShared(env.incidents) } };

    // Act
    const emitted = await remediate(aClassifiedDetail(), LIVE, batch);

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.nodePruneRequested,
    ]);
    expect(env.incidents.callCount('openOrJoin')).toBe(1);
  });

  it('notes another pod of the node that fails the same way on the incident, once, so it is restarted too', async () => {
    // Prepare
    await remediate(aClassifiedDetail(), LIVE, env);
    const other = aClassifiedDetail({
      pod: { namespace: 'inference', name: 'vllm-5d9c7b6f4-x2k8q' },
    });

    // Act
    await remediate(other, asEvent(LIVE, 'event-2'), env);
    await remediate(other, asEvent(LIVE, 'event-3'), env);
    await remediate(aClassifiedDetail(), asEvent(LIVE, 'event-4'), env);
    await remediate(
      aClassifiedDetail({ pod: undefined }),
      asEvent(LIVE, 'event-5'),
      env
    );

    // Assess: the incident's own pod is not noted again, nor a node's event.
    expect(env.incidents.incidents()[0]?.pods).toEqual([
      { namespace: 'inference', name: 'vllm-5d9c7b6f4-x2k8q' },
    ]);
    expect(env.incidents.callCount('notePod')).toBe(1);
  });

  it('sends nothing twice when the same event is delivered twice, and says again what it did', async () => {
    // Prepare
    const first = await remediate(aClassifiedDetail(), LIVE, env);

    // Act
    const second = await remediate(aClassifiedDetail(), LIVE, env);

    // Assess
    expect(first).toHaveLength(2);
    expect(second).toEqual(first);
    expect(env.commands.callCount('sendPrune')).toBe(1);
    expect(env.commands.callCount('findPrune')).toBe(0);
  });

  it('does nothing when a replay of the same failure (another event id) comes after the prune', async () => {
    // Prepare
    await remediate(aClassifiedDetail(), LIVE, env);

    // Act
    const replayed = await remediate(
      aClassifiedDetail(),
      asEvent(LIVE, 'event-2'),
      env
    );

    // Assess
    expect(replayed).toEqual([]);
    expect(env.commands.callCount('sendPrune')).toBe(1);
  });

  it("does nothing when the event is older than the last incident's resolution", async () => {
    // Prepare
    const resolved = anIncident({
      status: 'resolved',
      resolvedAt: '2026-11-20T09:45:00.000Z',
    });
    env.incidents.seed(resolved);

    // Act
    const emitted = await remediate(aClassifiedDetail(), LIVE, env);

    // Assess
    expect(emitted).toEqual([]);
    expect(env.commands.callCount('sendPrune')).toBe(0);
    expect(env.incidents.callCount('advance')).toBe(0);
    expect(env.incidents.incidents()).toEqual([resolved]);
  });

  it('opens a new incident when the event happened after the last resolution', async () => {
    // Prepare
    env.incidents.seed(
      anIncident({ status: 'resolved', resolvedAt: '2026-11-20T09:45:00Z' })
    );
    const later = aClassifiedDetail({
      kubernetesEvent: {
        ...aClassifiedDetail().kubernetesEvent,
        time: '2026-11-20T10:02:03Z',
      },
    });

    // Act
    const emitted = await remediate(later, LIVE, env);

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.nodePruneRequested,
    ]);
    expect(env.incidents.incidents()).toMatchObject([
      {
        incidentId: 'prod/ip-10-0-1-149.ec2.internal/20261120T100203Z',
        status: 'open',
        openedAt: '2026-11-20T10:02:03.000Z',
        step: 'prune-sent',
        prune: { commandId: 'cmd-0001' },
      },
    ]);
  });

  it('only joins when a concurrent twin claims the prune first', async () => {
    // Prepare: another event opened the incident; between this event's
    // read and its claim, that one claims the prune.
    const advance = env.incidents.advance.bind(env.incidents);
    env.incidents.seed(
      anIncident({ step: 'opened', stepBy: 'event-0', prune: undefined })
    );
    vi.spyOn(env.incidents, 'advance').mockImplementation(
      async (key, id, move) => {
        if (move.by === 'event-2' && move.to === 'prune-claimed') {
          await advance(key, id, { ...move, by: 'event-0' });
        }
        return advance(key, id, move);
      }
    );

    // Act
    const emitted = await remediate(
      aClassifiedDetail(),
      asEvent(LIVE, 'event-2'),
      env
    );

    // Assess
    expect(emitted).toEqual([]);
    expect(env.commands.callCount('sendPrune')).toBe(0);
  });

  it('escalates and touches nothing when the kill switch is on', async () => {
    // Act
    const emitted = await remediate(aClassifiedDetail(), OFF, env);

    // Assess
    expect(emitted).toHaveLength(1);
    expect(emitted[0]?.detailType).toBe(DETAIL_TYPES.incidentEscalated);
    expect(IncidentEscalatedDetail.parse(emitted[0]?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME, instanceId: INSTANCE_ID },
      dryRun: true,
      reason: 'the kill switch is on: pullmedic did nothing',
      nextSteps: [
        `Prune ${NODE_NAME} by hand (sudo crictl rmi --prune) or cordon it.`,
        'Turn pullmedic back on when ready: set its control parameter to live.',
      ],
    });
    expect(env.commands.callCount('sendPrune')).toBe(0);
    expect(env.incidents.callCount('openOrJoin')).toBe(0);
    expect(env.incidents.incidents()).toEqual([]);
  });

  it('escalates without a prune when CRI-O filled /var/tmp', async () => {
    // Act
    const emitted = await remediate(aCrioTmpClassifiedDetail(), LIVE, env);

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(IncidentEscalatedDetail.parse(emitted[1]?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME, instanceId: INSTANCE_ID },
      dryRun: false,
      incidentId: INCIDENT_ID,
      reason: 'the disk that filled (crio_tmp) is not freed by pruning images',
      nextSteps: [
        `Free space under /var/tmp/storage123/1 on ${NODE_NAME} (CRI-O stages image blobs in /var/tmp).`,
        "Point CRI-O's big_files_temporary_dir at the image volume, or grow the root volume.",
      ],
    });
    expect(env.commands.callCount('sendPrune')).toBe(0);
    // Escalated at once: a person acts, and the reconciler stays away.
    expect(env.incidents.incidents()[0]).toMatchObject({
      step: 'escalated',
      remedy: 'escalate',
    });
    expect(env.incidents.incidents()[0]?.due).toBeUndefined();
    expect(env.incidents.incidents()[0]?.prune).toBeUndefined();
  });

  it('escalates with generic wording when the classification names no filesystem or path', async () => {
    // Prepare
    const classified = aCrioTmpClassifiedDetail({
      filesystem: undefined,
      path: undefined,
    });

    // Act
    const emitted = await remediate(classified, LIVE, env);

    // Assess
    expect(emitted[1]?.detail).toMatchObject({
      reason: 'the disk that filled (unknown) is not freed by pruning images',
      nextSteps: [
        `Free space under /var/tmp on ${NODE_NAME} (CRI-O stages image blobs in /var/tmp).`,
        "Point CRI-O's big_files_temporary_dir at the image volume, or grow the root volume.",
      ],
    });
  });

  it('looks the instance up by node name when the classification lacks it', async () => {
    // Prepare
    const classified = aClassifiedDetail({ node: { name: NODE_NAME } });

    // Act
    const emitted = await remediate(classified, LIVE, env);

    // Assess
    expect(env.nodes.calls.instanceIdOf).toEqual([NODE_NAME]);
    expect(env.commands.calls.sendPrune[0]?.instanceId).toBe(INSTANCE_ID);
    expect(detailOf(emitted[0], DETAIL_TYPES.incidentOpened).node).toEqual({
      name: NODE_NAME,
    });
    expect(detailOf(emitted[1], DETAIL_TYPES.nodePruneRequested).node).toEqual({
      name: NODE_NAME,
      instanceId: INSTANCE_ID,
    });
  });

  it('escalates without a prune when no instance is found for the node', async () => {
    // Prepare
    env.nodes.reset();
    const classified = aClassifiedDetail({ node: { name: NODE_NAME } });

    // Act
    const emitted = await remediate(classified, LIVE, env);

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(IncidentEscalatedDetail.parse(emitted[1]?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME },
      dryRun: false,
      incidentId: INCIDENT_ID,
      reason: `no EC2 instance found for node ${NODE_NAME}`,
      nextSteps: [
        `Check that ${NODE_NAME} is an EC2 instance in this account and region.`,
        `Prune it by hand: sudo crictl rmi --prune on ${NODE_NAME}.`,
      ],
    });
    expect(env.commands.callCount('sendPrune')).toBe(0);
    expect(env.incidents.incidents()[0]?.timeline.at(-1)).toEqual({
      at: NOW,
      step: 'escalated',
      eventId: 'event-1',
      detail: `no EC2 instance found for node ${NODE_NAME}; next: Check that ${NODE_NAME} is an EC2 instance in this account and region.`,
    });
    expect(env.incidents.incidents()[0]?.step).toBe('escalated');
  });

  it('escalates at once, with the call and the error, when SSM refuses the prune for good', async () => {
    // Prepare
    env.commands.failSendWith(
      Object.assign(
        new Error('Instances [[i-0abc12345678def90]] not in a valid state'),
        {
          name: 'InvalidInstanceId',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        }
      )
    );

    // Act
    const emitted = await remediate(aClassifiedDetail(), LIVE, env);

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.incidentEscalated,
    ]);
    const told = IncidentEscalatedDetail.parse(emitted[1]?.detail);
    expect(told.reason).toContain(
      'sendPrune (in memory) failed: InvalidInstanceId'
    );
    expect(told.reason).toContain('retrying cannot help');
    expect(told.nextSteps.at(-1)).toBe(
      `Prune ${NODE_NAME} by hand: sudo crictl rmi --prune.`
    );
    expect(env.incidents.incidents()[0]).toMatchObject({ step: 'escalated' });
    expect(env.incidents.incidents()[0]?.prune?.commandId).toBeUndefined();
  });

  it('rethrows a failure that may pass (throttling), so the queue delivers the event again', async () => {
    // Prepare
    env.commands.failures.once('sendPrune', throttled());

    // Act
    const first = remediate(aClassifiedDetail(), LIVE, env);

    // Assess
    await expect(first).rejects.toThrow('ThrottlingException');
    expect(env.incidents.incidents()[0]?.step).toBe('prune-claimed');
  });

  // Finding 3: SendCommand went through, recording it failed, and the
  // redelivery found the prune claimed and said nothing, for ever.
  it('finds, records and announces the command a first try sent but could not record, without a second prune', async () => {
    // Prepare
    env.incidents.failures.once('pointCommand', serverError());
    await expect(remediate(aClassifiedDetail(), LIVE, env)).rejects.toThrow();

    // Act: the same event, redelivered
    const emitted = await remediate(aClassifiedDetail(), LIVE, env);

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.nodePruneRequested,
    ]);
    expect(env.commands.sent).toHaveLength(1);
    expect((await env.incidents.findByCommand('cmd-0001'))?.incidentId).toBe(
      INCIDENT_ID
    );
  });

  it('finds the command by its intent when SendCommand went through and its answer was lost', async () => {
    // Prepare
    env.commands.lostResponses.once('sendPrune', serverError());
    await expect(remediate(aClassifiedDetail(), LIVE, env)).rejects.toThrow();

    // Act
    const emitted = await remediate(aClassifiedDetail(), LIVE, env);

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.nodePruneRequested,
    ]);
    expect(env.commands.sent).toHaveLength(1);
    expect(env.commands.calls.findPrune).toEqual([
      { instanceId: INSTANCE_ID, intentId: 'event-1' },
    ]);
    expect(emitted[1]?.detail).toMatchObject({ commandId: 'cmd-0001' });
    expect(env.incidents.incidents()[0]?.step).toBe('prune-sent');
  });

  it('escalates, with what to do, when the node vanished (NotFound)', async () => {
    // Prepare
    env.nodes.reset();
    env.nodes.failures.always('amiFamilyOf', notFound());

    // Act
    const emitted = await remediate(aClassifiedDetail(), LIVE, env);

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(
      IncidentEscalatedDetail.parse(emitted[1]?.detail).nextSteps[0]
    ).toContain('still exists');
  });

  it('rethrows and leaves the prune unclaimed when the instance lookup fails, so the redelivery sends it and says all it did', async () => {
    // Prepare
    const classified = aClassifiedDetail({ node: { name: NODE_NAME } });
    env.nodes.failWith(new Error('Rate exceeded'));
    const first = remediate(classified, LIVE, env);
    await expect(first).rejects.toThrow('Rate exceeded');
    env.nodes.reset();
    env.nodes.addNode(NODE_NAME, anOrigin());

    // Act
    const emitted = await remediate(classified, LIVE, env);

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.nodePruneRequested,
    ]);
    expect(env.commands.calls.sendPrune).toHaveLength(1);
    expect(env.commands.calls.sendPrune[0]?.instanceId).toBe(INSTANCE_ID);
  });

  it('sends no command and asks for a dry-run roll when dry-run meets a volume below the minimum', async () => {
    // Act
    const emitted = await remediate(
      aClassifiedDetail({ dryRun: true }),
      DRY_RUN,
      env
    );

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.nodePruneRequested,
      DETAIL_TYPES.volumeRollRequested,
    ]);
    expect(env.commands.callCount('sendPrune')).toBe(0);
    const requested = NodePruneRequestedDetail.parse(emitted[1]?.detail);
    expect(requested.commandId.startsWith('dry-run-')).toBe(true);
    expect(requested).toMatchObject({
      dryRun: true,
      commandId: `dry-run-${INCIDENT_ID}`,
      parameters: { DryRun: ['false'] },
    });
    expect(VolumeRollRequestedDetail.parse(emitted[2]?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME, instanceId: INSTANCE_ID },
      dryRun: true,
      incidentId: INCIDENT_ID,
      reason: 'volume /dev/xvda is 20 GiB, below the group minimum of 100 GiB',
      currentSizeGiB: 20,
      minimumSizeGiB: 100,
      cause: 'below-minimum',
      deviceName: '/dev/xvda',
      volumeRule: 'root-volume',
    });
    expect(env.incidents.incidents()[0]?.timeline[1]).toEqual({
      at: NOW,
      step: 'prune-requested',
      eventId: 'event-1',
      detail: `[dry-run] would send ${env.commands.documents.containerd} to ${INSTANCE_ID} (command dry-run-${INCIDENT_ID})`,
    });
  });

  // Finding 9: in dry-run, a lookup failing once after the claim left the
  // retry with nothing to say, and dry-run under-reported what it would do.
  it('says on the retry what dry-run would do when the volume lookup failed once after the claim', async () => {
    // Prepare
    env.nodes.failures.once('origin', throttled());
    await expect(
      remediate(aClassifiedDetail({ dryRun: true }), DRY_RUN, env)
    ).rejects.toThrow();

    // Act
    const emitted = await remediate(
      aClassifiedDetail({ dryRun: true }),
      DRY_RUN,
      env
    );

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.nodePruneRequested,
      DETAIL_TYPES.volumeRollRequested,
    ]);
    expect(env.commands.callCount('sendPrune')).toBe(0);
  });

  it('asks for no roll in dry-run when the volume is at the minimum', async () => {
    // Prepare
    env.nodes.addNode(
      NODE_NAME,
      anOrigin({ volumes: [{ deviceName: '/dev/xvda', sizeGiB: 100 }] })
    );

    // Act
    const emitted = await remediate(aClassifiedDetail(), DRY_RUN, env);

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.nodePruneRequested,
    ]);
  });

  it('checks the group minimum in dry-run on the data volume that holds containerd, not the root', async () => {
    // Prepare: the nodeadm layout, a 100 GiB root and a 20 GiB /dev/xvdb.
    env.nodes.addNode(
      NODE_NAME,
      anOrigin({
        volumes: [
          { deviceName: '/dev/xvda', sizeGiB: 100 },
          { deviceName: '/dev/xvdb', sizeGiB: 20 },
        ],
      })
    );

    // Act
    const emitted = await remediate(aClassifiedDetail(), DRY_RUN, env);

    // Assess
    expect(typesOf(emitted)).toContain(DETAIL_TYPES.volumeRollRequested);
    expect(
      VolumeRollRequestedDetail.parse(emitted.at(-1)?.detail)
    ).toMatchObject({
      reason: 'volume /dev/xvdb is 20 GiB, below the group minimum of 100 GiB',
      currentSizeGiB: 20,
      deviceName: '/dev/xvdb',
      volumeRule: 'instance-data-volume',
    });
  });

  it("asks for no roll in dry-run when the instance's containerd volume is unknown", async () => {
    // Prepare
    env.nodes.addNode(NODE_NAME, anOrigin({ volumes: [] }));

    // Act
    const emitted = await remediate(aClassifiedDetail(), DRY_RUN, env);

    // Assess
    expect(typesOf(emitted)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.nodePruneRequested,
    ]);
    expect(env.commands.callCount('sendPrune')).toBe(0);
  });

  it("keeps a replay's incident apart from the live one", async () => {
    // Prepare
    await remediate(aClassifiedDetail(), LIVE, env);
    const run = replayRun('postmortem-20261120');

    // Act
    const emitted = await remediate(aClassifiedDetail(), run, env);

    // Assess
    expect(typesOf(emitted)).toContain(DETAIL_TYPES.incidentOpened);
    expect(emitted[0]?.detail).toMatchObject({
      dryRun: true,
      replayName: 'postmortem-20261120',
    });
    expect(env.commands.callCount('sendPrune')).toBe(1);
    expect(env.incidents.incidents().map((i) => i.key.scope)).toEqual([
      'live',
      'replay:postmortem-20261120',
    ]);
  });

  it('opens the incident at the event time, not the processing time', async () => {
    // Prepare
    env.clock.set('2026-11-20T12:00:00Z');

    // Act
    const emitted = await remediate(aClassifiedDetail(), LIVE, env);

    // Assess
    expect(detailOf(emitted[0], DETAIL_TYPES.incidentOpened).openedAt).toBe(
      new Date(FAILED_AT).toISOString()
    );
    expect(
      detailOf(emitted[1], DETAIL_TYPES.nodePruneRequested).requestedAt
    ).toBe('2026-11-20T12:00:00.000Z');
  });

  it('writes "no evidence" in the timeline when the classification has none', async () => {
    // Act
    await remediate(aClassifiedDetail({ evidence: null }), LIVE, env);

    // Assess
    expect(env.incidents.incidents()[0]?.timeline[0]?.detail).toBe(
      'Failed: disk_full (no evidence)'
    );
  });
});

describe('Function: pruneParameters', () => {
  it('returns the DryRun parameter as the document expects it', () => {
    // Act
    const live = pruneParameters(false);
    const dry = pruneParameters(true);

    // Assess
    expect(live).toEqual({ DryRun: ['false'] });
    expect(dry).toEqual({ DryRun: ['true'] });
  });
});

describe('Function: escalation', () => {
  it('returns an Incident Escalated without incidentId when there is none', () => {
    // Act
    const emitted = escalation(
      { cluster: CLUSTER, node: { name: NODE_NAME }, dryRun: false },
      undefined,
      'prune failed',
      ['Check the node']
    );

    // Assess
    expect(emitted).toEqual({
      detailType: DETAIL_TYPES.incidentEscalated,
      detail: {
        cluster: CLUSTER,
        node: { name: NODE_NAME },
        dryRun: false,
        reason: 'prune failed',
        nextSteps: ['Check the node'],
      },
    });
  });
});

describe('Function: remediate (events that name no cause)', () => {
  const env = createFakeEnvironment();

  beforeEach(() => {
    env.reset();
    env.clock.set(NOW);
    env.nodes.addNode(NODE_NAME, anOrigin());
  });

  it('joins the open incident of its pod on the timeline, and emits nothing', async () => {
    // Prepare
    await remediate(aClassifiedDetail(), LIVE, env);

    // Act
    const emitted = await remediate(aBackOffDetail(), LIVE, env);

    // Assess
    expect(emitted).toEqual([]);
    const [incident] = env.incidents.incidents();
    expect(incident?.timeline.at(-1)).toMatchObject({
      step: 'joined',
      detail: `BackOff: Back-off pulling image "${SEED_IMAGE}"`,
    });
    expect(env.commands.calls.sendPrune).toHaveLength(1);
  });

  it('never opens an incident by itself', async () => {
    // Act
    const emitted = await remediate(aBackOffDetail(), LIVE, env);

    // Assess
    expect(emitted).toEqual([]);
    expect(env.incidents.incidents()).toEqual([]);
    expect(env.commands.calls.sendPrune).toEqual([]);
  });

  it('does not join the incident of another pod', async () => {
    // Prepare
    await remediate(aClassifiedDetail(), LIVE, env);
    const before = env.incidents.incidents()[0]?.timeline.length;

    // Act
    await remediate(
      aBackOffDetail(undefined, { namespace: 'inference', name: 'other-pod' }),
      LIVE,
      env
    );

    // Assess
    expect(env.incidents.incidents()[0]?.timeline.length).toBe(before);
  });
});

describe('Function: remediate (CRI-O /var/tmp)', () => {
  const env = createFakeEnvironment();

  beforeEach(() => {
    env.reset();
    env.clock.set(NOW);
    env.nodes.addNode(NODE_NAME, anOrigin());
  });

  it('escalates once, when the incident opens, not on every later event', async () => {
    // Act
    const first = await remediate(aCrioTmpClassifiedDetail(), LIVE, env);
    const second = await remediate(
      aCrioTmpClassifiedDetail(),
      asEvent(LIVE, 'event-2'),
      env
    );

    // Assess
    expect(typesOf(first)).toEqual([
      DETAIL_TYPES.incidentOpened,
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(second).toEqual([]);
    expect(env.commands.calls.sendPrune).toEqual([]);
  });
});
