import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadConfig,
  required,
} from '../../../functions/_shared/config.ts';

describe('Function: loadConfig', () => {
  it('takes the defaults for every setting left unset or empty', () => {
    // Act
    const config = loadConfig({ PULLMEDIC_LOOK_AGAIN_SECONDS: '' });

    // Assess
    expect(config).toMatchObject({
      busName: 'pullmedic',
      defaultMode: 'live',
      commandTimeoutSeconds: 600,
      sdkMaxAttempts: 3,
      maxReceiveCount: 3,
      lookAgain: { seconds: 30, times: 2 },
      watch: { delaySeconds: 300, maxLooks: 72 },
      repeatQuietSeconds: 3600,
      reconcileBatch: 25,
      policy: {
        minVolumeGiB: 100,
        nodegroupAllowlist: ['*'],
        deadlines: { pruneResultSeconds: 1620, lookAgainSeconds: 60 },
      },
    });
  });

  it('reads what is set, each setting once', () => {
    // Act
    const config = loadConfig({
      PULLMEDIC_LOOK_AGAIN_SECONDS: '0',
      PULLMEDIC_WATCH_DELAY_SECONDS: '2.5',
      PULLMEDIC_NODEGROUP_ALLOWLIST: 'gpu-*, prod/cpu ,',
      PULLMEDIC_ROLL_APPROVAL: 'approval',
      PULLMEDIC_DEADLINE_RECOVERY_SECONDS: '120',
      PULLMEDIC_DEFAULT_MODE: 'dry-run',
    });

    // Assess
    expect(config.lookAgain.seconds).toBe(0);
    expect(config.watch.delaySeconds).toBe(2.5);
    expect(config.policy.nodegroupAllowlist).toEqual(['gpu-*', 'prod/cpu']);
    expect(config.policy.rollApproval).toBe('approval');
    expect(config.policy.deadlines.recoverySeconds).toBe(120);
    expect(config.defaultMode).toBe('dry-run');
  });

  it.each([
    ['PULLMEDIC_LOOK_AGAIN_SECONDS', '-1', 'a number of seconds >= 0'],
    ['PULLMEDIC_LOOK_AGAIN_SECONDS', 'soon', 'a number of seconds >= 0'],
    ['PULLMEDIC_SDK_MAX_ATTEMPTS', 'NaN', 'a whole number from 1 to 10'],
    ['PULLMEDIC_SDK_MAX_ATTEMPTS', '0', 'a whole number from 1 to 10'],
    ['PULLMEDIC_MIN_VOLUME_GIB', '0', 'a number > 0'],
    ['PULLMEDIC_MIN_VOLUME_GIB', 'Infinity', 'a number > 0'],
    ['PULLMEDIC_WATCH_MAX_LOOKS', '2.5', 'a whole number >= 0'],
    ['PULLMEDIC_WATCH_MAX_LOOKS', '9007199254740993', 'a whole number >= 0'],
    [
      'PULLMEDIC_COMMAND_TIMEOUT_SECONDS',
      '5',
      'a whole number from 30 to 2592000',
    ],
    ['PULLMEDIC_ROLL_APPROVAL', 'sometimes', 'auto, approval'],
    ['PULLMEDIC_DEFAULT_MODE', 'on', 'live, dry-run, off'],
  ])(
    'refuses %s=%s, naming the variable and what it accepts',
    (name, raw, accepts) => {
      // Act
      const read = () => loadConfig({ [name]: raw });

      // Assess
      expect(read).toThrow(ConfigError);
      expect(read).toThrow(`${name}: must be ${accepts}, got "${raw}"`);
    }
  );

  it('refuses a maximum volume below the minimum', () => {
    // Act
    const read = () =>
      loadConfig({
        PULLMEDIC_MIN_VOLUME_GIB: '200',
        PULLMEDIC_MAX_VOLUME_GIB: '100',
      });

    // Assess
    expect(read).toThrow(
      'PULLMEDIC_MAX_VOLUME_GIB: must not be below PULLMEDIC_MIN_VOLUME_GIB (200), got 100'
    );
  });
});

describe('Function: required', () => {
  it('returns a set value and names the variable of a missing one', () => {
    expect(required('pullmedic', 'PULLMEDIC_TABLE_NAME')).toBe('pullmedic');
    expect(() => required('', 'PULLMEDIC_TABLE_NAME')).toThrow(
      'PULLMEDIC_TABLE_NAME: is not set'
    );
  });
});
