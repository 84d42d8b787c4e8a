import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BOTTLEROCKET_DATA_DEVICE,
  containerdDeviceOf,
  containerdVolumeOf,
  NODEADM_DATA_DEVICE,
} from '#core/volumes.ts';
import { aBottlerocketOrigin, anOrigin } from '#test/helpers/fixtures.ts';

const ROOT_ID = 'vol-0aaaaaaaaaaaaaaa1';
const DATA_ID = 'vol-0bbbbbbbbbbbbbbb2';

/** An AL2023 node of the nodeadm layout: 100 GiB root, 20 GiB /dev/xvdb. */
const aDataVolumeOrigin = () =>
  anOrigin({
    volumes: [
      { deviceName: '/dev/xvda', sizeGiB: 100, volumeId: ROOT_ID },
      { deviceName: '/dev/xvdb', sizeGiB: 20, volumeId: DATA_ID },
    ],
  });

/** The project's nodeadm user data, as a launch template carries it. */
const NODEADM_USER_DATA = readFileSync(
  new URL('../../../infra/nodeadm/user-data.mime', import.meta.url)
).toString('base64');

const ebs = (DeviceName: string, VolumeSize: number) => ({
  DeviceName,
  Ebs: { VolumeSize, VolumeType: 'gp3' },
});

describe('Function: containerdDeviceOf', () => {
  it('returns the data volume /dev/xvdb when the node runs Bottlerocket', () => {
    // Act
    const device = containerdDeviceOf(aBottlerocketOrigin());

    // Assess
    expect(device).toBe(BOTTLEROCKET_DATA_DEVICE);
    expect(device).toBe('/dev/xvdb');
  });

  it('returns the root device when the node runs another AMI family and has no data volume', () => {
    // Act
    const al2 = containerdDeviceOf({
      amiFamily: 'al2',
      rootDeviceName: '/dev/xvda',
      volumes: [],
    });
    const unknown = containerdDeviceOf({
      amiFamily: 'unknown',
      rootDeviceName: '/dev/sda1',
      volumes: [],
    });

    // Assess
    expect(al2).toBe('/dev/xvda');
    expect(unknown).toBe('/dev/sda1');
  });
});

describe('Function: containerdVolumeOf', () => {
  it('returns the root volume when the node runs AL2023 with no data volume', () => {
    // Act
    const volume = containerdVolumeOf(anOrigin());

    // Assess
    expect(volume).toEqual({
      deviceName: '/dev/xvda',
      sizeGiB: 20,
      rule: 'root-volume',
    });
  });

  it('returns the data volume when the node runs Bottlerocket, sized by the template when given', () => {
    // Act
    const fromInstance = containerdVolumeOf(aBottlerocketOrigin());
    const fromTemplate = containerdVolumeOf(aBottlerocketOrigin(), {
      launchTemplate: {
        BlockDeviceMappings: [ebs('/dev/xvda', 4), ebs('/dev/xvdb', 30)],
      },
    });

    // Assess
    expect(fromInstance).toEqual({
      deviceName: '/dev/xvdb',
      sizeGiB: 20,
      rule: 'bottlerocket-data-volume',
    });
    expect(fromTemplate).toMatchObject({
      deviceName: '/dev/xvdb',
      sizeGiB: 30,
    });
  });

  it('names the device without a size when the containerd device is not attached', () => {
    // Act
    const volume = containerdVolumeOf(
      aBottlerocketOrigin({
        volumes: [{ deviceName: '/dev/xvda', sizeGiB: 4 }],
      })
    );

    // Assess
    expect(volume).toEqual({
      deviceName: '/dev/xvdb',
      rule: 'bottlerocket-data-volume',
    });
  });

  it('returns /dev/xvdb when an AL2023 instance has the nodeadm data volume and no template is at hand', () => {
    // Act
    const volume = containerdVolumeOf(aDataVolumeOrigin());

    // Assess
    expect(NODEADM_DATA_DEVICE).toBe('/dev/xvdb');
    expect(volume).toEqual({
      deviceName: '/dev/xvdb',
      sizeGiB: 20,
      rule: 'instance-data-volume',
    });
  });

  it('returns /dev/xvdb, sized by the template, when the template maps it as EBS and its user data mounts it for containerd', () => {
    // Act
    const volume = containerdVolumeOf(anOrigin(), {
      launchTemplate: {
        UserData: NODEADM_USER_DATA,
        BlockDeviceMappings: [ebs('/dev/xvda', 100), ebs('/dev/xvdb', 50)],
      },
    });

    // Assess
    expect(volume).toEqual({
      deviceName: '/dev/xvdb',
      sizeGiB: 50,
      rule: 'launch-template-data-volume',
    });
  });

  it('lets the template decide the root when it maps no EBS /dev/xvdb its user data mounts for containerd, whatever the instance has', () => {
    // Prepare
    const both = [ebs('/dev/xvda', 100), ebs('/dev/xvdb', 50)];
    const otherUserData = Buffer.from(
      '#!/bin/bash\nmount /dev/xvdb /data\n'
    ).toString('base64');

    // Act
    const volumes = [
      {
        UserData: NODEADM_USER_DATA,
        BlockDeviceMappings: [ebs('/dev/xvda', 100)],
      },
      {
        UserData: NODEADM_USER_DATA,
        BlockDeviceMappings: [
          ebs('/dev/xvda', 100),
          { DeviceName: '/dev/xvdb', VirtualName: 'ephemeral0' },
        ],
      },
      { UserData: NODEADM_USER_DATA },
      { BlockDeviceMappings: both },
      { UserData: otherUserData, BlockDeviceMappings: both },
      { UserData: 'not base64 ***', BlockDeviceMappings: both },
    ].map((launchTemplate) =>
      containerdVolumeOf(aDataVolumeOrigin(), { launchTemplate })
    );

    // Assess
    for (const volume of volumes) {
      expect(volume).toEqual({
        deviceName: '/dev/xvda',
        sizeGiB: 100,
        rule: 'root-volume',
      });
    }
  });

  it('takes the volume the prune measured, by its id, over every other rule', () => {
    // Act
    const root = containerdVolumeOf(aDataVolumeOrigin(), {
      report: { volume: { id: ROOT_ID, device: '/dev/nvme0n1' } },
      launchTemplate: {
        BlockDeviceMappings: [ebs('/dev/xvda', 100), ebs('/dev/xvdb', 20)],
      },
    });
    const data = containerdVolumeOf(aDataVolumeOrigin(), {
      report: { volume: { id: DATA_ID, device: '/dev/nvme1n1' } },
    });

    // Assess
    expect(root).toEqual({
      deviceName: '/dev/xvda',
      sizeGiB: 100,
      rule: 'prune-report',
    });
    expect(data).toEqual({
      deviceName: '/dev/xvdb',
      sizeGiB: 20,
      rule: 'prune-report',
    });
  });

  it('maps a Xen device name of the report to the mapping it stands for (/dev/xvdb is /dev/sdb)', () => {
    // Prepare
    const origin = anOrigin({
      rootDeviceName: '/dev/sda1',
      volumes: [
        { deviceName: '/dev/sda1', sizeGiB: 100 },
        { deviceName: '/dev/sdb', sizeGiB: 30 },
      ],
    });

    // Act
    const data = containerdVolumeOf(origin, {
      report: { volume: { id: null, device: '/dev/xvdb' } },
    });
    const root = containerdVolumeOf(origin, {
      report: { volume: { id: null, device: '/dev/xvda' } },
    });

    // Assess
    expect(data).toEqual({
      deviceName: '/dev/sdb',
      sizeGiB: 30,
      rule: 'prune-report',
    });
    expect(root).toEqual({
      deviceName: '/dev/sda1',
      sizeGiB: 100,
      rule: 'prune-report',
    });
  });

  it.each([
    ['no volume field (an older script)', {}],
    ['nulls (a tmpfs)', { volume: { id: null, device: null } }],
    [
      'an id the instance does not have',
      { volume: { id: 'vol-0ccccccccccccccc3', device: null } },
    ],
    [
      'an NVMe device and no id',
      { volume: { id: null, device: '/dev/nvme1n1' } },
    ],
    [
      'a Xen device the instance does not have',
      { volume: { id: null, device: '/dev/xvdf' } },
    ],
  ])('falls back to the other rules when the report has %s', (_, report) => {
    // Act
    const volume = containerdVolumeOf(aDataVolumeOrigin(), { report });

    // Assess
    expect(volume.rule).toBe('instance-data-volume');
  });

  it('keeps a decision taken before, sized by the template or else the instance', () => {
    // Act
    const decided = {
      deviceName: '/dev/xvda',
      volumeRule: 'prune-report',
    } as const;
    const withTemplate = containerdVolumeOf(aDataVolumeOrigin(), {
      decided,
      launchTemplate: {
        BlockDeviceMappings: [ebs('/dev/xvda', 120), ebs('/dev/xvdb', 20)],
      },
    });
    const withoutTemplate = containerdVolumeOf(aDataVolumeOrigin(), {
      decided,
    });

    // Assess
    expect(withTemplate).toEqual({
      deviceName: '/dev/xvda',
      sizeGiB: 120,
      rule: 'prune-report',
    });
    expect(withoutTemplate).toEqual({
      deviceName: '/dev/xvda',
      sizeGiB: 100,
      rule: 'prune-report',
    });
  });

  it('ignores a decision that names no rule, or no device', () => {
    // Act
    const noRule = containerdVolumeOf(aDataVolumeOrigin(), {
      decided: { deviceName: '/dev/xvda' },
    });
    const noDevice = containerdVolumeOf(aDataVolumeOrigin(), {
      decided: { volumeRule: 'root-volume' },
    });

    // Assess
    expect(noRule.rule).toBe('instance-data-volume');
    expect(noDevice.rule).toBe('instance-data-volume');
  });
});
