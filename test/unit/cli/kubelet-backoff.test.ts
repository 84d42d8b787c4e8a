import { describe, expect, it } from 'vitest';
import {
  BACKOFF_MAX_SECONDS,
  nextRetryAt,
} from '../../../cli/local/kubelet.ts';

const s = (seconds: number) => seconds * 1000;

describe('Function: nextRetryAt (the kubelet stand-in’s image pull back-off)', () => {
  it.each([
    [1, 10],
    [2, 20],
    [3, 40],
    [4, 80],
    [5, 160],
    [6, 300],
    [9, 300],
  ])(
    'waits the back-off after failure %i: %i s, doubling from 10 s up to 300 s',
    (attempts, seconds) => {
      // Act
      const at = nextRetryAt(attempts, 0, 0);

      // Assess
      expect(at).toBe(s(seconds));
    }
  );

  it('fails again at every point of the schedule before the node had room, and retries at the first one after', () => {
    // Prepare: the first failure at 0; room only from 45 s on. The retries
    // at 10 s and 30 s (10 + 20) fail, the next is 40 s after that.

    // Act
    const at = nextRetryAt(1, 0, s(45));

    // Assess
    expect(at).toBe(s(70));
  });

  it('never waits more than the maximum between two tries', () => {
    // Act
    const at = nextRetryAt(20, s(1000), s(1000) + 1);

    // Assess
    expect(at - s(1000)).toBe(s(BACKOFF_MAX_SECONDS));
  });
});
