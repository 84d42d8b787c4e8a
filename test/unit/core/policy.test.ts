import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POLICY,
  isRollAllowed,
  targetVolumeGiB,
} from '#core/policy.ts';

describe('Constant: DEFAULT_POLICY', () => {
  it('holds the seed lesson: a 100 GiB minimum, a 1000 GiB maximum', () => {
    // Assess
    expect(DEFAULT_POLICY).toEqual({
      minVolumeGiB: 100,
      maxVolumeGiB: 1000,
      maxPodRestarts: 10,
      minFreePercentAfterPrune: 20,
      growthFactor: 2,
      rollCooldownSeconds: 21_600,
      incidentTtlSeconds: 2_592_000,
      nodegroupAllowlist: ['*'],
      maxRollsPerHour: 3,
      rollApproval: 'auto',
      deadlines: {
        sendSeconds: 300,
        pruneResultSeconds: 1620,
        recoverySeconds: 900,
        rollStartSeconds: 900,
        watchSeconds: 900,
        lookAgainSeconds: 60,
      },
    });
  });
});

describe('Function: isRollAllowed', () => {
  it('matches group names, cluster/group pairs and wildcards, and nothing else', () => {
    // Act
    const answers = [
      isRollAllowed('prod', 'gpu-a10g', ['gpu-*']),
      isRollAllowed('prod', 'cpu', ['gpu-*']),
      isRollAllowed('prod', 'cpu', ['prod/*']),
      isRollAllowed('prod', 'cpu', ['staging/*']),
      isRollAllowed('prod', 'a.b', ['a?b']),
      isRollAllowed('prod', 'axb', ['a.b']),
      isRollAllowed('prod', 'anything', ['*']),
      isRollAllowed('prod', 'anything', []),
    ];

    // Assess: regex characters in patterns are literal; only * is a wildcard.
    expect(answers).toEqual([
      true,
      false,
      true,
      false,
      false,
      false,
      true,
      false,
    ]);
  });
});

describe('Function: targetVolumeGiB', () => {
  it('returns the group minimum when the volume is below it', () => {
    // Act
    const target = targetVolumeGiB(20, DEFAULT_POLICY);

    // Assess
    expect(target).toBe(100);
  });

  it('returns the size grown by the factor when the volume is at the minimum', () => {
    // Act
    const target = targetVolumeGiB(100, DEFAULT_POLICY);

    // Assess
    expect(target).toBe(200);
  });

  it('returns a whole number of GiB when the factor is fractional', () => {
    // Act
    const target = targetVolumeGiB(101, {
      ...DEFAULT_POLICY,
      growthFactor: 1.5,
    });

    // Assess
    expect(target).toBe(152);
  });

  it('returns the maximum when growing would pass it', () => {
    // Act
    const target = targetVolumeGiB(600, DEFAULT_POLICY);

    // Assess
    expect(target).toBe(1000);
  });

  it('returns null when the volume is already at the maximum', () => {
    // Act
    const target = targetVolumeGiB(1000, DEFAULT_POLICY);

    // Assess
    expect(target).toBeNull();
  });

  it('returns null when the volume is above the maximum (never shrinks)', () => {
    // Act
    const target = targetVolumeGiB(1500, DEFAULT_POLICY);

    // Assess
    expect(target).toBeNull();
  });

  it('returns null when the factor does not grow the volume', () => {
    // Act
    const target = targetVolumeGiB(200, { ...DEFAULT_POLICY, growthFactor: 1 });

    // Assess
    expect(target).toBeNull();
  });
});
