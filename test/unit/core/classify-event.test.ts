import { beforeEach, describe, expect, it } from 'vitest';
import { classifyKubernetesEvent } from '#core/classify-event.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import { ImagePullFailureClassifiedDetail } from '#events/schemas.ts';
import { FakeNodeDirectory } from '#test/fakes/fake-node-directory.ts';
import { detailOf } from '#test/helpers/bus.ts';
import {
  aKubernetesEvent,
  aKubernetesEventDetail,
  anOrigin,
  CLUSTER,
  DRY_RUN,
  FAILED_AT,
  INSTANCE_ID,
  LIVE,
  NODE_NAME,
  replayRun,
  SEED_IMAGE,
  SEED_MESSAGE,
  SEED_POD,
} from '#test/helpers/fixtures.ts';

const ENVELOPE_TIME = '2026-11-20T09:41:01Z';

describe('Function: classifyKubernetesEvent', () => {
  const nodes = new FakeNodeDirectory();
  const deps = { nodes };

  beforeEach(() => {
    nodes.reset();
    nodes.addNode(NODE_NAME, anOrigin());
  });

  it("takes the envelope's time for an event that carries none (the exporter's template)", async () => {
    // Prepare
    const event = aKubernetesEvent({
      firstTimestamp: null,
      lastTimestamp: null,
      eventTime: null,
      metadata: { name: 'triton.exporter', namespace: 'inference' },
    });

    // Act
    const emitted = await classifyKubernetesEvent(
      aKubernetesEventDetail(event),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(
      detailOf(emitted[0], DETAIL_TYPES.imagePullFailureClassified)
        .kubernetesEvent.time
    ).toBe(ENVELOPE_TIME);
  });

  it("classifies the seed's failed pull as disk_full and finds the node's instance", async () => {
    // Act
    const emitted = await classifyKubernetesEvent(
      aKubernetesEventDetail(),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(emitted).toHaveLength(1);
    expect(emitted[0]?.detailType).toBe(
      DETAIL_TYPES.imagePullFailureClassified
    );
    const classified = ImagePullFailureClassifiedDetail.parse(
      emitted[0]?.detail
    );
    expect(classified).toMatchObject({
      cluster: CLUSTER,
      node: { name: NODE_NAME, instanceId: INSTANCE_ID },
      dryRun: false,
      class: 'disk_full',
      evidence: 'no space left on device',
      causeKnown: true,
      remedy: 'prune',
      pod: SEED_POD,
      image: SEED_IMAGE,
      runtime: 'containerd',
      kubernetesEvent: {
        reason: 'Failed',
        type: 'Warning',
        time: FAILED_AT,
        uid: '0d6f3b7a-1c2e-4f5a-8b9c-a00000000006',
        count: 1,
        message: SEED_MESSAGE,
      },
    });
    expect(classified.replayName).toBeUndefined();
    expect(nodes.calls.instanceIdOf).toEqual([NODE_NAME]);
  });

  it('does not look the instance up when the forwarder sent it', async () => {
    // Prepare
    const detail = aKubernetesEventDetail(aKubernetesEvent(), {
      node: { name: NODE_NAME, instanceId: 'i-0123456789abcdef0' },
    });

    // Act
    const emitted = await classifyKubernetesEvent(
      detail,
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(
      detailOf(emitted[0], DETAIL_TYPES.imagePullFailureClassified).node
    ).toEqual({
      name: NODE_NAME,
      instanceId: 'i-0123456789abcdef0',
    });
    expect(nodes.callCount('instanceIdOf')).toBe(0);
  });

  it("reads the instance from the node's providerID when the forwarder sent one", async () => {
    // Prepare
    const detail = aKubernetesEventDetail(aKubernetesEvent(), {
      node: {
        name: NODE_NAME,
        providerID: 'aws:///us-east-1a/i-0fedcba9876543210',
      },
    });

    // Act
    const emitted = await classifyKubernetesEvent(
      detail,
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(
      detailOf(emitted[0], DETAIL_TYPES.imagePullFailureClassified).node
    ).toEqual({
      name: NODE_NAME,
      instanceId: 'i-0fedcba9876543210',
    });
    expect(nodes.callCount('instanceIdOf')).toBe(0);
  });

  it('does not look the instance up when the class is not disk_full', async () => {
    // Prepare
    const event = aKubernetesEvent({
      message:
        'Failed to pull image "nginx:1.25": rpc error: code = Unknown desc = pull access denied, repository does not exist or may require authorization: authorization failed',
    });

    // Act
    const emitted = await classifyKubernetesEvent(
      aKubernetesEventDetail(event),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(emitted[0]?.detail).toMatchObject({
      class: 'auth',
      node: { name: NODE_NAME, instanceId: undefined },
      image: 'nginx:1.25',
    });
    expect(nodes.callCount('instanceIdOf')).toBe(0);
  });

  it('emits nothing when the event names no node', async () => {
    // Act
    const emitted = await classifyKubernetesEvent(
      aKubernetesEventDetail(aKubernetesEvent({ source: undefined })),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(emitted).toEqual([]);
    expect(nodes.callCount('instanceIdOf')).toBe(0);
  });

  it('takes the image from the message when the classifier finds none', async () => {
    // Prepare
    const event = aKubernetesEvent({
      reason: 'Pulled',
      type: 'Normal',
      message: 'Successfully pulled image "nginx:1.25" in 1s',
    });

    // Act
    const emitted = await classifyKubernetesEvent(
      aKubernetesEventDetail(event),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(
      detailOf(emitted[0], DETAIL_TYPES.imagePullFailureClassified).image
    ).toBe('nginx:1.25');
  });

  it('leaves the image out when the message names none', async () => {
    // Prepare
    const event = aKubernetesEvent({ message: 'Error: ErrImagePull' });

    // Act
    const emitted = await classifyKubernetesEvent(
      aKubernetesEventDetail(event),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(emitted[0]?.detail).toMatchObject({
      class: 'other',
      causeKnown: false,
      image: undefined,
    });
  });

  it('leaves the image out when it has characters no image reference has', async () => {
    // Prepare
    const hostile = 'evil<!channel>*x*';
    const event = aKubernetesEvent({
      message: `Failed to pull image "${hostile}": rpc error: code = Unknown desc = failed to pull and unpack image "${hostile}": no space left on device`,
    });

    // Act
    const emitted = await classifyKubernetesEvent(
      aKubernetesEventDetail(event),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(
      detailOf(emitted[0], DETAIL_TYPES.imagePullFailureClassified).image
    ).toBeUndefined();
    expect(() =>
      ImagePullFailureClassifiedDetail.parse(emitted[0]?.detail)
    ).not.toThrow();
  });

  it('leaves the pod out when the event is not about a pod in a namespace', async () => {
    // Prepare
    const event = aKubernetesEvent({
      involvedObject: { kind: 'Node', name: NODE_NAME },
    });

    // Act
    const emitted = await classifyKubernetesEvent(
      aKubernetesEventDetail(event),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    expect(
      detailOf(emitted[0], DETAIL_TYPES.imagePullFailureClassified).pod
    ).toBeUndefined();
  });

  it('marks the classification with the run when the run is a dry-run replay', async () => {
    // Act
    const dry = await classifyKubernetesEvent(
      aKubernetesEventDetail(),
      ENVELOPE_TIME,
      DRY_RUN,
      deps
    );
    const replay = await classifyKubernetesEvent(
      aKubernetesEventDetail(),
      ENVELOPE_TIME,
      replayRun('postmortem'),
      deps
    );

    // Assess
    expect(dry[0]?.detail).toMatchObject({ dryRun: true });
    expect(replay[0]?.detail).toMatchObject({
      dryRun: true,
      replayName: 'postmortem',
    });
  });

  it('keeps at most 4096 characters of the message', async () => {
    // Prepare
    const event = aKubernetesEvent({
      message: `${SEED_MESSAGE} ${'z'.repeat(8000)}`,
    });

    // Act
    const emitted = await classifyKubernetesEvent(
      aKubernetesEventDetail(event),
      ENVELOPE_TIME,
      LIVE,
      deps
    );

    // Assess
    const classified = ImagePullFailureClassifiedDetail.parse(
      emitted[0]?.detail
    );
    expect(classified.kubernetesEvent.message).toHaveLength(4096);
  });
});
