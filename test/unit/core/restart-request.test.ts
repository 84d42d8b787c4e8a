import { describe, expect, it } from 'vitest';
import { restartRequest } from '#core/restart-request.ts';
import {
  MAX_PODS_PER_REQUEST,
  PodRestartRequestedDetail,
} from '#events/schemas.ts';
import { FixedClock } from '#test/fakes/fixed-clock.ts';
import {
  anIncident,
  CLUSTER,
  INSTANCE_ID,
  NODE_NAME,
  SEED_POD,
} from '#test/helpers/fixtures.ts';

const BASE = {
  cluster: CLUSTER,
  node: { name: NODE_NAME, instanceId: INSTANCE_ID },
  dryRun: false,
};
const clock = new FixedClock('2026-11-20T09:42:10.000Z');

describe('Function: restartRequest', () => {
  it('names at most MAX_PODS_PER_REQUEST pods, the incident’s own first', () => {
    // Prepare: a storm joined far more pods than one request may carry.
    const pods = Array.from({ length: MAX_PODS_PER_REQUEST + 20 }, (_, i) => ({
      namespace: 'batch',
      name: `worker-7d4f9c8b5-${String(i).padStart(5, '0')}`,
    }));

    // Act
    const request = restartRequest(
      anIncident({ pods }),
      BASE,
      'prune',
      10,
      clock
    );

    // Assess: it still parses, so PutEvents takes it.
    const detail = PodRestartRequestedDetail.parse(request?.detail);
    expect(detail.pods).toHaveLength(MAX_PODS_PER_REQUEST);
    expect(detail.pods[0]).toEqual(SEED_POD);
    expect(detail.pods.at(-1)?.name).toBe(
      `worker-7d4f9c8b5-${String(MAX_PODS_PER_REQUEST - 2).padStart(5, '0')}`
    );
  });

  it('asks nothing when the incident names no pod', () => {
    // Act
    const request = restartRequest(
      anIncident({ pod: undefined, image: undefined }),
      { ...BASE, dryRun: true, replayName: 'pm-1' },
      'rollout',
      10,
      clock
    );

    // Assess
    expect(request).toBeUndefined();
  });

  it('leaves the image out when the incident never learnt it: the agent then restarts whatever is stuck pulling', () => {
    // Act
    const request = restartRequest(
      anIncident({ image: undefined }),
      BASE,
      'prune',
      1,
      clock
    );

    // Assess
    expect(PodRestartRequestedDetail.parse(request?.detail)).not.toHaveProperty(
      'image'
    );
  });
});
