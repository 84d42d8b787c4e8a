import { describe, expect, it } from 'vitest';
import { planVolumeGrowth } from '#core/launch-template.ts';
import { DEFAULT_POLICY } from '#core/policy.ts';
import type { LaunchTemplateData } from '#core/ports.ts';
import { aLaunchTemplateData, KMS_KEY_ID } from '#test/helpers/fixtures.ts';

describe('Function: planVolumeGrowth', () => {
  it('returns a grow plan that changes only the VolumeSize of the device when the template maps it', () => {
    // Prepare
    const data = aLaunchTemplateData();
    const before = structuredClone(data);

    // Act
    const plan = planVolumeGrowth(data, '/dev/xvda', 50, DEFAULT_POLICY);

    // Assess
    expect(plan.kind).toBe('grow');
    if (plan.kind !== 'grow') return;
    expect(plan).toMatchObject({
      deviceName: '/dev/xvda',
      oldSizeGiB: 20,
      newSizeGiB: 100,
    });
    const expected = structuredClone(before);
    const root = expected.BlockDeviceMappings?.[0]?.Ebs;
    if (root) root.VolumeSize = 100;
    expect(plan.data).toEqual(expected);
    expect(plan.data.BlockDeviceMappings?.[0]).toEqual({
      DeviceName: '/dev/xvda',
      Ebs: {
        VolumeSize: 100,
        VolumeType: 'gp3',
        Iops: 3000,
        Throughput: 125,
        Encrypted: true,
        KmsKeyId: KMS_KEY_ID,
        DeleteOnTermination: true,
      },
    });
    expect(data).toEqual(before);
    expect(plan.data.MetadataOptions).not.toBe(data.MetadataOptions);
  });

  it('sets gp3 on the grown volume when the template did not say its type', () => {
    // Prepare
    const data = {
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 20, Encrypted: true } },
      ],
    };

    // Act
    const plan = planVolumeGrowth(data, '/dev/xvda', undefined, DEFAULT_POLICY);

    // Assess
    expect(plan).toMatchObject({
      kind: 'grow',
      data: {
        BlockDeviceMappings: [
          {
            DeviceName: '/dev/xvda',
            Ebs: { VolumeSize: 100, VolumeType: 'gp3', Encrypted: true },
          },
        ],
      },
    });
  });

  it('returns a grow plan that appends a gp3 mapping when the template does not map the device', () => {
    // Prepare
    const data = aLaunchTemplateData();

    // Act
    const plan = planVolumeGrowth(data, '/dev/xvdf', 30, DEFAULT_POLICY);

    // Assess
    expect(plan).toEqual({
      kind: 'grow',
      deviceName: '/dev/xvdf',
      oldSizeGiB: 30,
      newSizeGiB: 100,
      data: {
        ...aLaunchTemplateData(),
        BlockDeviceMappings: [
          ...(aLaunchTemplateData().BlockDeviceMappings ?? []),
          {
            DeviceName: '/dev/xvdf',
            Ebs: { VolumeSize: 100, VolumeType: 'gp3' },
          },
        ],
      },
    });
  });

  it('returns a grow plan with a single mapping when the template has no mappings', () => {
    // Prepare
    const data: LaunchTemplateData = { ImageId: 'ami-0123456789abcdef0' };

    // Act
    const plan = planVolumeGrowth(data, '/dev/xvda', 20, DEFAULT_POLICY);

    // Assess
    expect(plan).toEqual({
      kind: 'grow',
      deviceName: '/dev/xvda',
      oldSizeGiB: 20,
      newSizeGiB: 100,
      data: {
        ImageId: 'ami-0123456789abcdef0',
        BlockDeviceMappings: [
          {
            DeviceName: '/dev/xvda',
            Ebs: { VolumeSize: 100, VolumeType: 'gp3' },
          },
        ],
      },
    });
  });

  it("returns a grow plan from the instance's size when the mapping has no Ebs size", () => {
    // Prepare
    const data: LaunchTemplateData = {
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { VolumeType: 'gp2' } },
      ],
    };

    // Act
    const plan = planVolumeGrowth(data, '/dev/xvda', 150, DEFAULT_POLICY);

    // Assess
    expect(plan).toEqual({
      kind: 'grow',
      deviceName: '/dev/xvda',
      oldSizeGiB: 150,
      newSizeGiB: 300,
      data: {
        BlockDeviceMappings: [
          {
            DeviceName: '/dev/xvda',
            Ebs: { VolumeType: 'gp2', VolumeSize: 300 },
          },
        ],
      },
    });
  });

  it('returns no-change when neither the template nor the instance gives a size', () => {
    // Act
    const plan = planVolumeGrowth({}, '/dev/xvdb', undefined, DEFAULT_POLICY);

    // Assess
    expect(plan).toEqual({
      kind: 'no-change',
      deviceName: '/dev/xvdb',
      sizeGiB: 0,
      reason: 'neither the template nor the instance says how big /dev/xvdb is',
    });
  });

  it('returns no-change when a below-minimum roll finds the template at or above the minimum', () => {
    // Prepare: the template was grown already; the node predates it.
    const data = aLaunchTemplateData();
    const root = data.BlockDeviceMappings?.[0];
    if (root?.Ebs) root.Ebs.VolumeSize = 200;

    // Act
    const plan = planVolumeGrowth(
      data,
      '/dev/xvda',
      20,
      DEFAULT_POLICY,
      'below-minimum'
    );

    // Assess
    expect(plan).toEqual({
      kind: 'no-change',
      deviceName: '/dev/xvda',
      sizeGiB: 200,
      reason:
        'the template already gives /dev/xvda 200 GiB, at or above the group minimum of 100 GiB',
    });
  });

  it('returns no-change when the volume is already at the maximum', () => {
    // Prepare
    const data: LaunchTemplateData = {
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 1000 } },
      ],
    };

    // Act
    const plan = planVolumeGrowth(data, '/dev/xvda', 20, DEFAULT_POLICY);

    // Assess
    expect(plan).toEqual({
      kind: 'no-change',
      deviceName: '/dev/xvda',
      sizeGiB: 1000,
      reason:
        '/dev/xvda is already 1000 GiB; the configured maximum is 1000 GiB',
    });
  });
});
