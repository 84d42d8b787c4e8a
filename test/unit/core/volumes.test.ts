import { describe, expect, it } from 'vitest';
import {
  BOTTLEROCKET_DATA_DEVICE,
  containerdDeviceOf,
  containerdVolumeOf,
} from '#core/volumes.ts';
import { aBottlerocketOrigin, anOrigin } from '#test/helpers/fixtures.ts';

describe('Function: containerdDeviceOf', () => {
  it('returns the data volume /dev/xvdb when the node runs Bottlerocket', () => {
    // Act
    const device = containerdDeviceOf(aBottlerocketOrigin());

    // Assess
    expect(device).toBe(BOTTLEROCKET_DATA_DEVICE);
    expect(device).toBe('/dev/xvdb');
  });

  it('returns the root device when the node runs another AMI family', () => {
    // Act
    const al2 = containerdDeviceOf({
      amiFamily: 'al2',
      rootDeviceName: '/dev/xvda',
    });
    const unknown = containerdDeviceOf({
      amiFamily: 'unknown',
      rootDeviceName: '/dev/sda1',
    });

    // Assess
    expect(al2).toBe('/dev/xvda');
    expect(unknown).toBe('/dev/sda1');
  });
});

describe('Function: containerdVolumeOf', () => {
  it('returns the root volume when the node runs AL2023', () => {
    // Act
    const volume = containerdVolumeOf(anOrigin());

    // Assess
    expect(volume).toEqual({ deviceName: '/dev/xvda', sizeGiB: 20 });
  });

  it('returns the data volume when the node runs Bottlerocket', () => {
    // Act
    const volume = containerdVolumeOf(aBottlerocketOrigin());

    // Assess
    expect(volume).toEqual({ deviceName: '/dev/xvdb', sizeGiB: 20 });
  });

  it('returns undefined when the containerd device is not attached', () => {
    // Act
    const volume = containerdVolumeOf(
      aBottlerocketOrigin({
        volumes: [{ deviceName: '/dev/xvda', sizeGiB: 4 }],
      })
    );

    // Assess
    expect(volume).toBeUndefined();
  });
});
