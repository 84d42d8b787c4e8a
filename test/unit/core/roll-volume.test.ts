import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LaunchTemplateData, NodeOrigin } from '#core/ports.ts';
import {
  approvalCommand,
  rollPathOf,
  rollToken,
  rollVolume,
} from '#core/roll-volume.ts';
import { DETAIL_TYPES } from '#events/detail-types.ts';
import {
  IncidentEscalatedDetail,
  VolumeRollProposedDetail,
  VolumeRollRequestedDetail,
  VolumeRollStartedDetail,
} from '#events/schemas.ts';
import { createFakeEnvironment } from '#test/fakes/environment.ts';
import {
  accessDenied,
  serverError,
  throttled,
} from '#test/fakes/failure-plan.ts';
import { detailOf } from '#test/helpers/bus.ts';
import {
  aBottlerocketOrigin,
  aLaunchTemplateData,
  anIncident,
  anOrigin,
  aRollRequest,
  aSelfManagedOrigin,
  asEvent,
  CLUSTER,
  DRY_RUN,
  INSTANCE_ID,
  LAUNCH_TEMPLATE_ID,
  LIVE,
  NODE_NAME,
  NODEGROUP,
  OFF,
} from '#test/helpers/fixtures.ts';
import { wrapAwsError } from '../../../adapters/aws/errors.ts';

const NOW = '2026-11-20T09:43:00.000Z';
const INCIDENT_ID = anIncident().incidentId;
const TOKEN = rollToken('live', INCIDENT_ID);
const ROLL_REQUESTED = anIncident({
  step: 'roll-requested',
  stepBy: 'event-prune-result',
  roll: { request: aRollRequest() },
});

/** The template data with one device's size changed, everything else kept. */
const withSize = (
  data: LaunchTemplateData,
  device: string,
  sizeGiB: number
): LaunchTemplateData => {
  const expected = structuredClone(data);
  for (const m of expected.BlockDeviceMappings ?? []) {
    if (m.DeviceName === device && m.Ebs) m.Ebs.VolumeSize = sizeGiB;
  }
  return expected;
};

describe('Function: rollVolume', () => {
  const env = createFakeEnvironment();
  afterEach(() => vi.restoreAllMocks());

  beforeEach(() => {
    env.reset();
    env.clock.set(NOW);
    // As prune-result leaves it: a bigger volume asked for.
    env.incidents.seed(ROLL_REQUESTED);
    env.nodes.addNode(NODE_NAME, anOrigin());
    env.launchTemplates.addVersion(
      LAUNCH_TEMPLATE_ID,
      3,
      aLaunchTemplateData()
    );
  });

  /** Nothing was written: no version, no rollout, no lock. */
  const expectNoWrites = () => {
    expect(env.launchTemplates.callCount('createVersion')).toBe(0);
    expect(env.rollouts.callCount('updateManagedNodegroup')).toBe(0);
    expect(env.rollouts.callCount('refreshAutoScalingGroup')).toBe(0);
    expect(env.locks.lock(`${CLUSTER}/${NODEGROUP}`)).toBeUndefined();
  };

  it('creates a template version where only the containerd volume grew and updates the managed node group', async () => {
    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(env.launchTemplates.calls.createVersion).toEqual([
      {
        id: LAUNCH_TEMPLATE_ID,
        sourceVersion: 3,
        data: withSize(aLaunchTemplateData(), '/dev/xvda', 100),
        // The token first: a retry finds the version it made by it.
        description: `${TOKEN} ${INCIDENT_ID}: /dev/xvda 20 -> 100 GiB`,
        clientToken: TOKEN,
        version: 4,
      },
    ]);
    expect(env.rollouts.calls.updateManagedNodegroup).toEqual([
      {
        cluster: CLUSTER,
        nodegroup: NODEGROUP,
        launchTemplate: { id: LAUNCH_TEMPLATE_ID, version: 4 },
        clientRequestToken: `${TOKEN}-v4`,
      },
    ]);
    expect(env.rollouts.callCount('refreshAutoScalingGroup')).toBe(0);
    expect(emitted).toHaveLength(1);
    expect(emitted[0]?.detailType).toBe(DETAIL_TYPES.volumeRollStarted);
    expect(VolumeRollStartedDetail.parse(emitted[0]?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME, instanceId: INSTANCE_ID },
      dryRun: false,
      incidentId: INCIDENT_ID,
      nodegroup: { kind: 'managed', name: NODEGROUP },
      launchTemplate: {
        id: LAUNCH_TEMPLATE_ID,
        name: 'gpu-nodes',
        oldVersion: 3,
        newVersion: 4,
      },
      deviceName: '/dev/xvda',
      oldSizeGiB: 20,
      newSizeGiB: 100,
      rollout: { kind: 'eks-nodegroup-update', id: 'update-0001' },
      undo: `aws eks update-nodegroup-version --cluster-name ${CLUSTER} --nodegroup-name ${NODEGROUP} --launch-template id=${LAUNCH_TEMPLATE_ID},version=3`,
    });
  });

  it('keeps every other mapping and field of the template when it writes the new version', async () => {
    // Act
    await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    const written = env.launchTemplates.version(LAUNCH_TEMPLATE_ID, 4);
    const source = aLaunchTemplateData();
    const { BlockDeviceMappings: writtenMappings, ...writtenRest } =
      written ?? {};
    const { BlockDeviceMappings: sourceMappings, ...sourceRest } = source;
    expect(writtenRest).toEqual(sourceRest);
    expect(writtenRest.UserData).toBe(source.UserData);
    expect(writtenRest.MetadataOptions).toEqual({
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 2,
      HttpEndpoint: 'enabled',
    });
    expect(writtenMappings?.slice(1)).toEqual(sourceMappings?.slice(1));
    expect(writtenMappings?.[0]).toEqual({
      ...sourceMappings?.[0],
      Ebs: { ...sourceMappings?.[0]?.Ebs, VolumeSize: 100 },
    });
    expect(writtenMappings?.[0]?.Ebs).toMatchObject({
      VolumeType: 'gp3',
      Iops: 3000,
      Throughput: 125,
      Encrypted: true,
      DeleteOnTermination: true,
    });
    expect(env.launchTemplates.version(LAUNCH_TEMPLATE_ID, 3)).toEqual(source);
  });

  it('records the roll in the timeline and holds the group lock for the incident', async () => {
    // Act
    await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(env.incidents.incidents()[0]?.timeline.at(-1)).toEqual({
      at: NOW,
      step: 'roll-started',
      eventId: 'event-1',
      detail: `created ${LAUNCH_TEMPLATE_ID} version 4: /dev/xvda 20 → 100 GiB; eks-nodegroup-update update-0001`,
    });
    // What the reconciler needs to watch it if nobody does.
    expect(env.incidents.incidents()[0]).toMatchObject({
      step: 'roll-started',
      due: '2026-11-20T09:58:00.000Z',
      roll: {
        groupKey: `${CLUSTER}/${NODEGROUP}`,
        counted: true,
        launchTemplate: {
          id: LAUNCH_TEMPLATE_ID,
          oldVersion: 3,
          newVersion: 4,
        },
        rollout: { kind: 'eks-nodegroup-update', id: 'update-0001' },
        started: { incidentId: INCIDENT_ID },
      },
    });
    expect(env.locks.lock(`${CLUSTER}/${NODEGROUP}`)).toEqual({
      holder: INCIDENT_ID,
      acquiredAt: NOW,
      lockedUntil: Date.parse(NOW) / 1000 + env.policy.rollCooldownSeconds,
    });
  });

  it('points the Auto Scaling group at the new version and starts an instance refresh when the group is self-managed', async () => {
    // Prepare
    env.nodes.addNode(NODE_NAME, aSelfManagedOrigin());
    env.launchTemplates.addVersion(
      LAUNCH_TEMPLATE_ID,
      7,
      aLaunchTemplateData()
    );

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(env.rollouts.calls.refreshAutoScalingGroup).toEqual([
      {
        group: 'self-managed-gpu',
        launchTemplate: { id: LAUNCH_TEMPLATE_ID, version: 8 },
        autoRollback: true,
      },
    ]);
    expect(env.rollouts.callCount('updateManagedNodegroup')).toBe(0);
    expect(env.launchTemplates.calls.createVersion[0]).toMatchObject({
      sourceVersion: 7,
      data: withSize(aLaunchTemplateData(), '/dev/xvda', 100),
    });
    expect(VolumeRollStartedDetail.parse(emitted[0]?.detail)).toMatchObject({
      nodegroup: { kind: 'self-managed', name: 'self-managed-gpu' },
      launchTemplate: { id: LAUNCH_TEMPLATE_ID, oldVersion: 7, newVersion: 8 },
      rollout: { kind: 'asg-instance-refresh', id: 'refresh-0001' },
      undo: `aws autoscaling rollback-instance-refresh --auto-scaling-group-name self-managed-gpu (while it runs; once it has ended, start a refresh back to version 7 of ${LAUNCH_TEMPLATE_ID})`,
    });
    expect(
      detailOf(emitted[0], DETAIL_TYPES.volumeRollStarted).launchTemplate
    ).not.toHaveProperty('name');
    expect(env.locks.lock(`${CLUSTER}/self-managed-gpu`)?.holder).toBe(
      INCIDENT_ID
    );
  });

  it('grows only the data volume /dev/xvdb when the node runs Bottlerocket', async () => {
    // Prepare
    env.nodes.addNode(NODE_NAME, aBottlerocketOrigin());

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    const data = env.launchTemplates.calls.createVersion[0]?.data;
    // The template says 50 GiB for /dev/xvdb: it wins over the instance's 20.
    expect(data).toEqual(withSize(aLaunchTemplateData(), '/dev/xvdb', 100));
    expect(data?.BlockDeviceMappings?.[0]).toEqual(
      aLaunchTemplateData().BlockDeviceMappings?.[0]
    );
    expect(data?.BlockDeviceMappings?.[1]?.Ebs).toEqual({
      VolumeSize: 100,
      VolumeType: 'io2',
      Iops: 8000,
      Encrypted: true,
      KmsKeyId: aLaunchTemplateData().BlockDeviceMappings?.[1]?.Ebs?.KmsKeyId,
      DeleteOnTermination: false,
      SnapshotId: 'snap-0123456789abcdef0',
    });
    expect(emitted[0]?.detail).toMatchObject({
      deviceName: '/dev/xvdb',
      oldSizeGiB: 50,
      newSizeGiB: 100,
    });
  });

  describe('when containerd has a volume of its own (the nodeadm layout)', () => {
    /** A 100 GiB root and a 20 GiB /dev/xvdb, on the instance and the template. */
    const layout = (userData?: string) => {
      env.nodes.addNode(
        NODE_NAME,
        anOrigin({
          volumes: [
            { deviceName: '/dev/xvda', sizeGiB: 100 },
            { deviceName: '/dev/xvdb', sizeGiB: 20 },
          ],
        })
      );
      const data = withSize(
        withSize(aLaunchTemplateData(), '/dev/xvda', 100),
        '/dev/xvdb',
        20
      );
      if (userData !== undefined) data.UserData = userData;
      else delete data.UserData;
      env.launchTemplates.addVersion(LAUNCH_TEMPLATE_ID, 3, data);
      return data;
    };
    const NODEADM_USER_DATA = readFileSync(
      new URL('../../../infra/nodeadm/user-data.mime', import.meta.url)
    ).toString('base64');

    it('grows the device the request names (the one the prune measured), not the root', async () => {
      // Prepare
      const data = layout();

      // Act
      const emitted = await rollVolume(
        aRollRequest({ deviceName: '/dev/xvdb', volumeRule: 'prune-report' }),
        LIVE,
        env
      );

      // Assess
      expect(env.launchTemplates.calls.createVersion[0]?.data).toEqual(
        withSize(data, '/dev/xvdb', 100)
      );
      expect(emitted[0]?.detail).toMatchObject({
        deviceName: '/dev/xvdb',
        oldSizeGiB: 20,
        newSizeGiB: 100,
      });
    });

    it("grows /dev/xvdb when the request names no device and the template's user data mounts it for containerd", async () => {
      // Prepare
      const data = layout(NODEADM_USER_DATA);

      // Act
      await rollVolume(aRollRequest(), LIVE, env);

      // Assess
      expect(env.launchTemplates.calls.createVersion[0]?.data).toEqual(
        withSize(data, '/dev/xvdb', 100)
      );
    });

    it('names /dev/xvdb in the instructions when pullmedic must not roll the group', async () => {
      // Prepare
      layout();
      env.nodes.addNode(
        NODE_NAME,
        anOrigin({
          karpenterNodePool: 'gpu',
          volumes: [
            { deviceName: '/dev/xvda', sizeGiB: 100 },
            { deviceName: '/dev/xvdb', sizeGiB: 20 },
          ],
        })
      );

      // Act
      const emitted = await rollVolume(
        aRollRequest({ deviceName: '/dev/xvdb', volumeRule: 'prune-report' }),
        LIVE,
        env
      );

      // Assess
      const escalated = IncidentEscalatedDetail.parse(emitted[0]?.detail);
      expect(escalated.nextSteps[0]).toContain(
        '[{deviceName: /dev/xvdb, ebs: {volumeSize: 100Gi'
      );
    });

    it('carries the device into the approval command, so the approved roll grows the same one', async () => {
      // Prepare
      layout();
      const deps = {
        ...env,
        policy: { ...env.policy, rollApproval: 'approval' as const },
      };

      // Act
      const emitted = await rollVolume(
        aRollRequest({ deviceName: '/dev/xvdb', volumeRule: 'prune-report' }),
        LIVE,
        deps
      );

      // Assess
      const proposed = VolumeRollProposedDetail.parse(emitted[0]?.detail);
      const entries = JSON.parse(
        proposed.approve.match(/--entries '(.*)'$/)?.[1] ?? '[]'
      );
      expect(
        VolumeRollRequestedDetail.parse(JSON.parse(entries[0].Detail))
      ).toMatchObject({ deviceName: '/dev/xvdb', volumeRule: 'prune-report' });
      expect(proposed).toMatchObject({
        deviceName: '/dev/xvdb',
        oldSizeGiB: 20,
      });
    });
  });

  it.each<[string, Partial<NodeOrigin>, string, string[]]>([
    [
      'Karpenter launched the node',
      { karpenterNodePool: 'gpu' },
      'the node was launched by Karpenter (NodePool gpu)',
      [
        'Set the volume in the EC2NodeClass of NodePool gpu: spec.blockDeviceMappings: [{deviceName: /dev/xvda, ebs: {volumeSize: 100Gi, volumeType: gp3, encrypted: true}}]',
        'Karpenter drifts the nodes to the new size by itself.',
      ],
    ],
    [
      'infrastructure code manages the template',
      { managedBy: 'terraform' },
      'its launch template is managed by terraform (tag pullmedic.io/managed-by)',
      [
        'In terraform, set block_device_mappings { device_name = "/dev/xvda" ebs { volume_size = 100 volume_type = "gp3" } } on the node group\'s launch template, and apply.',
      ],
    ],
    [
      'the managed node group has no launch template',
      { eksNodegroup: { cluster: CLUSTER, name: NODEGROUP, diskSizeGiB: 20 } },
      `managed node group ${NODEGROUP} has no launch template (diskSize 20 GiB cannot be changed in place)`,
      [
        `Create a new node group with a bigger disk and move the workloads: eksctl create nodegroup --cluster ${CLUSTER} --name ${NODEGROUP}-100g --node-volume-size 100 …, then drain and delete ${NODEGROUP}.`,
        'Terraform (terraform-aws-eks): disk_size = 100 creates a replacement node group.',
      ],
    ],
    [
      "the managed node group has no launch template, and the instance's (EKS's own) has no opt-in",
      {
        eksNodegroup: { cluster: CLUSTER, name: NODEGROUP, diskSizeGiB: 20 },
        rollOptIn: false,
      },
      `managed node group ${NODEGROUP} has no launch template (diskSize 20 GiB cannot be changed in place)`,
      [
        `Create a new node group with a bigger disk and move the workloads: eksctl create nodegroup --cluster ${CLUSTER} --name ${NODEGROUP}-100g --node-volume-size 100 …, then drain and delete ${NODEGROUP}.`,
        'Terraform (terraform-aws-eks): disk_size = 100 creates a replacement node group.',
      ],
    ],
    [
      'the managed node group has neither a launch template nor a known disk size',
      { eksNodegroup: { cluster: CLUSTER, name: NODEGROUP } },
      `managed node group ${NODEGROUP} has no launch template (diskSize ? GiB cannot be changed in place)`,
      [
        `Create a new node group with a bigger disk and move the workloads: eksctl create nodegroup --cluster ${CLUSTER} --name ${NODEGROUP}-100g --node-volume-size 100 …, then drain and delete ${NODEGROUP}.`,
        'Terraform (terraform-aws-eks): disk_size = 100 creates a replacement node group.',
      ],
    ],
    [
      'the instance is in no Auto Scaling group',
      { eksNodegroup: undefined, autoScalingGroup: undefined },
      'the instance belongs to no Auto Scaling group with a launch template',
      [
        `Grow /dev/xvda on ${INSTANCE_ID} by hand (aws ec2 modify-volume), then grow the filesystem.`,
      ],
    ],
    [
      'the Auto Scaling group has no launch template',
      { eksNodegroup: undefined, launchTemplate: undefined },
      'the instance belongs to no Auto Scaling group with a launch template',
      [
        `Grow /dev/xvda on ${INSTANCE_ID} by hand (aws ec2 modify-volume), then grow the filesystem.`,
      ],
    ],
  ])(
    'escalates with next steps and writes nothing when %s',
    async (_case, origin, why, nextSteps) => {
      // Prepare
      env.nodes.addNode(NODE_NAME, anOrigin(origin));

      // Act
      const emitted = await rollVolume(aRollRequest(), LIVE, env);

      // Assess
      expect(emitted).toHaveLength(1);
      expect(emitted[0]?.detailType).toBe(DETAIL_TYPES.incidentEscalated);
      expect(IncidentEscalatedDetail.parse(emitted[0]?.detail)).toEqual({
        cluster: CLUSTER,
        node: { name: NODE_NAME, instanceId: INSTANCE_ID },
        dryRun: false,
        incidentId: INCIDENT_ID,
        reason: `pullmedic will not roll this node's group: ${why}`,
        nextSteps,
      });
      expectNoWrites();
      expect(env.launchTemplates.callCount('getVersion')).toBe(0);
      expect(env.locks.callCount('acquire')).toBe(0);
    }
  );

  it('asks for a size within the policy when a hands-off node already has a big volume', async () => {
    // Prepare
    env.nodes.addNode(
      NODE_NAME,
      anOrigin({
        karpenterNodePool: 'gpu',
        volumes: [{ deviceName: '/dev/xvda', sizeGiB: 600 }],
      })
    );

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(
      detailOf(emitted[0], DETAIL_TYPES.incidentEscalated).nextSteps
    ).toEqual([
      'Set the volume in the EC2NodeClass of NodePool gpu: spec.blockDeviceMappings: [{deviceName: /dev/xvda, ebs: {volumeSize: 1000Gi, volumeType: gp3, encrypted: true}}]',
      'Karpenter drifts the nodes to the new size by itself.',
    ]);
  });

  it('asks for the maximum when a hands-off node is already at it', async () => {
    // Prepare
    env.nodes.addNode(
      NODE_NAME,
      anOrigin({
        managedBy: 'terraform',
        volumes: [{ deviceName: '/dev/xvda', sizeGiB: 1000 }],
      })
    );

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(
      detailOf(emitted[0], DETAIL_TYPES.incidentEscalated).nextSteps
    ).toEqual([
      'In terraform, set block_device_mappings { device_name = "/dev/xvda" ebs { volume_size = 1000 volume_type = "gp3" } } on the node group\'s launch template, and apply.',
    ]);
    expectNoWrites();
  });

  it('escalates and writes nothing when the volume is already at the maximum', async () => {
    // Prepare
    env.launchTemplates.addVersion(
      LAUNCH_TEMPLATE_ID,
      3,
      withSize(aLaunchTemplateData(), '/dev/xvda', 1000)
    );

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(IncidentEscalatedDetail.parse(emitted[0]?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME, instanceId: INSTANCE_ID },
      dryRun: false,
      incidentId: INCIDENT_ID,
      reason:
        'the volume cannot grow: /dev/xvda is already 1000 GiB; the configured maximum is 1000 GiB',
      nextSteps: [
        `Find what fills /dev/xvda on ${NODE_NAME} (sudo du -xsh /var/lib/containerd /var/log /var/lib/kubelet).`,
        "Use smaller images, or raise the maximum volume size in pullmedic's policy.",
      ],
    });
    expectNoWrites();
  });

  it('escalates and writes nothing when neither the template nor the instance knows the Bottlerocket data volume', async () => {
    // Prepare
    env.nodes.addNode(
      NODE_NAME,
      aBottlerocketOrigin({
        volumes: [{ deviceName: '/dev/xvda', sizeGiB: 4 }],
      })
    );
    env.launchTemplates.addVersion(LAUNCH_TEMPLATE_ID, 3, {
      ImageId: 'ami-0123456789abcdef0',
    });

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(emitted).toHaveLength(1);
    expect(detailOf(emitted[0], DETAIL_TYPES.incidentEscalated).reason).toBe(
      'the volume cannot grow: neither the template nor the instance says how big /dev/xvdb is'
    );
    expectNoWrites();
  });

  it('emits nothing, writes nothing and notes the skip when another incident holds the group lock', async () => {
    // Prepare
    await rollVolume(aRollRequest(), LIVE, env);
    const other = anIncident({
      key: {
        cluster: CLUSTER,
        node: 'ip-10-0-2-7.ec2.internal',
        scope: 'live',
      },
      incidentId: `${CLUSTER}/ip-10-0-2-7.ec2.internal/20261120T094200Z`,
      node: {
        name: 'ip-10-0-2-7.ec2.internal',
        instanceId: 'i-0fedcba9876543210',
      },
      step: 'roll-requested',
      stepBy: 'event-prune-result-2',
    });
    env.incidents.seed(other);
    env.nodes.addNode(
      'ip-10-0-2-7.ec2.internal',
      anOrigin({ instanceId: 'i-0fedcba9876543210' })
    );
    env.clock.advance(60);

    // Act
    const emitted = await rollVolume(
      aRollRequest({ incidentId: other.incidentId, node: other.node }),
      asEvent(LIVE, 'event-2'),
      env
    );

    // Assess
    expect(emitted).toEqual([]);
    expect(env.launchTemplates.callCount('createVersion')).toBe(1);
    expect(env.rollouts.callCount('updateManagedNodegroup')).toBe(1);
    const stored = env.incidents
      .incidents()
      .find((i) => i.incidentId === other.incidentId);
    expect(stored?.timeline.at(-1)).toEqual({
      at: '2026-11-20T09:44:00.000Z',
      step: 'roll-skipped',
      eventId: 'event-2',
      detail: `node group ${NODEGROUP} is already rolling for ${INCIDENT_ID}`,
    });
    // It waits for that rollout; the reconciler looks after the cooldown.
    expect(stored).toMatchObject({
      step: 'roll-requested',
      due: '2026-11-20T15:44:00.000Z',
    });
    expect(env.locks.lock(`${CLUSTER}/${NODEGROUP}`)?.holder).toBe(INCIDENT_ID);
  });

  it('says the same again, and makes nothing twice, when the same request is delivered again', async () => {
    // Prepare
    const first = await rollVolume(aRollRequest(), LIVE, env);

    // Act
    const again = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(again).toEqual(first);
    expect(env.launchTemplates.versionCount(LAUNCH_TEMPLATE_ID)).toBe(2);
    expect(env.rollouts.started()).toBe(1);
    expect(env.locks.counted(new Date(NOW))).toBe(1);
  });

  it('does nothing when another request (an approval pasted twice, a replay) comes for a roll already started', async () => {
    // Prepare
    await rollVolume(aRollRequest(), LIVE, env);

    // Act
    const other = await rollVolume(
      aRollRequest({ approvedBy: 'alice' }),
      asEvent(LIVE, 'event-2'),
      env
    );

    // Assess
    expect(other).toEqual([]);
    expect(env.launchTemplates.callCount('createVersion')).toBe(1);
  });

  // Finding 1: the lock and the claim were taken, counting the roll was
  // throttled once, and the redelivery found the claim taken: no version,
  // no rollout, no word, and the group locked for six hours.
  it('carries on when counting the roll was throttled once', async () => {
    // Prepare
    env.locks.failures.once('countRoll', throttled());
    await expect(rollVolume(aRollRequest(), LIVE, env)).rejects.toThrow(
      'ThrottlingException'
    );

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.volumeRollStarted,
    ]);
    expect(env.rollouts.started()).toBe(1);
    expect(env.locks.counted(new Date(NOW))).toBe(1);
  });

  // Finding 2: the version was made and the update started, then writing
  // the step failed once: the redelivery said nothing, and nobody
  // followed the rollout.
  it('announces the roll on the retry when recording it failed after the rollout started, without a second version or update', async () => {
    // Prepare: the claim goes through; the move to roll-started fails once.
    const advance = env.incidents.advance.bind(env.incidents);
    let failed = false;
    vi.spyOn(env.incidents, 'advance').mockImplementation(
      async (key, id, move) => {
        if (move.to === 'roll-started' && !failed) {
          failed = true;
          throw Object.assign(new Error('Service unavailable'), {
            name: 'InternalServerError',
            $fault: 'server',
          });
        }
        return advance(key, id, move);
      }
    );
    await expect(rollVolume(aRollRequest(), LIVE, env)).rejects.toThrow();

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.volumeRollStarted,
    ]);
    expect(env.launchTemplates.versionCount(LAUNCH_TEMPLATE_ID)).toBe(2);
    expect(env.rollouts.started()).toBe(1);
    expect(env.incidents.incidents()[0]?.step).toBe('roll-started');
  });

  it('finds the version it made when EC2 made it and the answer was lost', async () => {
    // Prepare
    env.launchTemplates.lostResponses.once('createVersion', serverError());
    await expect(rollVolume(aRollRequest(), LIVE, env)).rejects.toThrow();

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(emitted[0]?.detail).toMatchObject({
      launchTemplate: { newVersion: 4 },
    });
    expect(env.launchTemplates.versionCount(LAUNCH_TEMPLATE_ID)).toBe(2);
  });

  it('starts one update when EKS started it and the answer was lost (the same clientRequestToken)', async () => {
    // Prepare
    env.rollouts.lostResponses.once('updateManagedNodegroup', serverError());
    await expect(rollVolume(aRollRequest(), LIVE, env)).rejects.toThrow();

    // Act
    await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    const tokens = env.rollouts.calls.updateManagedNodegroup.map(
      (c) => c.clientRequestToken
    );
    expect(tokens).toEqual([`${TOKEN}-v4`, `${TOKEN}-v4`]);
    expect(env.rollouts.started()).toBe(1);
  });

  // Finding 4: a request for an older incident took the group's lock and
  // kept it when its claim failed, silencing the real incident's roll.
  it('takes no lock for a request whose incident was replaced (an approval from an old thread)', async () => {
    // Act
    const emitted = await rollVolume(
      aRollRequest({
        incidentId: `${CLUSTER}/${NODE_NAME}/20261101T000000Z`,
        approvedBy: 'alice',
      }),
      asEvent(LIVE, 'event-2'),
      env
    );
    const real = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(emitted).toEqual([]);
    expect(env.locks.lock(`${CLUSTER}/${NODEGROUP}`)?.holder).toBe(INCIDENT_ID);
    expect(real.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.volumeRollStarted,
    ]);
  });

  it('escalates and lets go of the group when the rollout is refused for good', async () => {
    // Prepare
    env.rollouts.failures.always('updateManagedNodegroup', accessDenied());

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(
      detailOf(emitted[0], DETAIL_TYPES.incidentEscalated).reason
    ).toContain('AccessDeniedException');
    expect(env.incidents.incidents()[0]?.step).toBe('escalated');
    const next = await env.locks.acquire(
      `${CLUSTER}/${NODEGROUP}`,
      'another-incident',
      new Date(NOW),
      600
    );
    expect(next).toEqual({ acquired: true });
  });

  it('rethrows a rollout failure that may pass, so the request is delivered again', async () => {
    // Prepare
    env.rollouts.failures.once('updateManagedNodegroup', throttled());

    // Act
    const first = rollVolume(aRollRequest(), LIVE, env);

    // Assess
    await expect(first).rejects.toThrow('ThrottlingException');
    expect(env.incidents.incidents()[0]?.step).toBe('roll-starting');
  });

  it('starts the refresh without AutoRollback, and says how to undo it, when the template takes its image from an SSM parameter', async () => {
    // Prepare
    env.nodes.addNode(NODE_NAME, aSelfManagedOrigin());
    env.launchTemplates.addVersion(LAUNCH_TEMPLATE_ID, 7, {
      ...aLaunchTemplateData(),
      ImageId:
        'resolve:ssm:/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/nvidia/recommended/image_id',
    });

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(env.rollouts.calls.refreshAutoScalingGroup[0]?.autoRollback).toBe(
      false
    );
    expect(detailOf(emitted[0], DETAIL_TYPES.volumeRollStarted).undo).toBe(
      `aws autoscaling start-instance-refresh --auto-scaling-group-name self-managed-gpu with version 7 of ${LAUNCH_TEMPLATE_ID} as the desired configuration (Auto Scaling cannot roll this group back: its template takes the image from an SSM parameter or it runs $Latest/$Default)`
    );
  });

  it('escalates without moving the incident when a dry-run roll meets a failure for good', async () => {
    // Prepare
    env.nodes.failures.always('origin', accessDenied());

    // Act
    const emitted = await rollVolume(aRollRequest(), DRY_RUN, env);

    // Assess
    expect(emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(detailOf(emitted[0], DETAIL_TYPES.incidentEscalated).dryRun).toBe(
      true
    );
    expect(env.incidents.incidents()[0]?.step).toBe('roll-requested');
  });

  it('says what a person would do, without moving the incident, when a dry-run roll meets a node pullmedic must not roll', async () => {
    // Prepare
    env.nodes.addNode(NODE_NAME, anOrigin({ karpenterNodePool: 'gpu' }));

    // Act
    const emitted = await rollVolume(aRollRequest(), DRY_RUN, env);

    // Assess
    expect(
      detailOf(emitted[0], DETAIL_TYPES.incidentEscalated).reason
    ).toContain('Karpenter');
    expect(env.incidents.incidents()[0]?.step).toBe('roll-requested');
  });

  it('notes a dry-run instance refresh for a self-managed group', async () => {
    // Prepare
    env.nodes.addNode(NODE_NAME, aSelfManagedOrigin());
    env.launchTemplates.addVersion(
      LAUNCH_TEMPLATE_ID,
      7,
      aLaunchTemplateData()
    );

    // Act
    await rollVolume(aRollRequest(), DRY_RUN, env);

    // Assess
    expect(env.incidents.incidents()[0]?.timeline.at(-1)?.detail).toMatch(
      /asg-instance-refresh$/
    );
  });

  it('proposes once: another request for the same roll says nothing', async () => {
    // Prepare
    const deps = {
      ...env,
      policy: { ...env.policy, rollApproval: 'approval' as const },
    };
    await rollVolume(aRollRequest(), LIVE, deps);

    // Act
    const again = await rollVolume(
      aRollRequest(),
      asEvent(LIVE, 'event-2'),
      deps
    );

    // Assess
    expect(again).toEqual([]);
    expect(env.incidents.incidents()[0]?.step).toBe('roll-proposed');
  });

  it('leaves an escalated incident to the person told, unless the request carries their approval', async () => {
    // Prepare
    env.incidents.seed({ ...ROLL_REQUESTED, step: 'escalated' });

    // Act
    const unapproved = await rollVolume(aRollRequest(), LIVE, env);
    const approved = await rollVolume(
      aRollRequest({ approvedBy: 'alice' }),
      asEvent(LIVE, 'event-2'),
      env
    );

    // Assess
    expect(unapproved).toEqual([]);
    expect(approved.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.volumeRollStarted,
    ]);
  });

  it('keeps the lock when the roll fails for good after its rollout started: the group is rolling', async () => {
    // Prepare: recording the started roll is refused for good.
    const advance = env.incidents.advance.bind(env.incidents);
    vi.spyOn(env.incidents, 'advance').mockImplementation(
      async (key, id, move) => {
        if (move.to === 'roll-started') {
          throw wrapAwsError(
            'moving the incident',
            Object.assign(new Error('Item size has exceeded the maximum'), {
              name: 'ValidationException',
              $fault: 'client',
            })
          );
        }
        return advance(key, id, move);
      }
    );

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(
      env.locks.lock(`${CLUSTER}/${NODEGROUP}`)?.lockedUntil
    ).toBeGreaterThan(Date.parse(NOW) / 1000);
  });

  it('keeps AutoRollback for a self-managed template that names no image (the group decides it)', async () => {
    // Prepare
    env.nodes.addNode(NODE_NAME, aSelfManagedOrigin());
    const { ImageId: _none, ...data } = aLaunchTemplateData();
    env.launchTemplates.addVersion(LAUNCH_TEMPLATE_ID, 7, data);

    // Act
    await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(env.rollouts.calls.refreshAutoScalingGroup[0]?.autoRollback).toBe(
      true
    );
  });

  it('escalates with the change to make, and writes nothing, when the group is not on the allowlist', async () => {
    // Prepare
    const deps = {
      ...env,
      policy: { ...env.policy, nodegroupAllowlist: ['cpu-*'] },
    };

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, deps);

    // Assess
    expect(emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.incidentEscalated,
    ]);
    const detail = IncidentEscalatedDetail.parse(emitted[0]?.detail);
    expect(detail.reason).toBe(
      `node group ${NODEGROUP} is not on pullmedic's allowlist (cpu-*)`
    );
    expect(detail.nextSteps[0]).toContain(
      `${LAUNCH_TEMPLATE_ID} from version 3`
    );
    expectNoWrites();
  });

  it('proposes the roll with the approval command, and writes nothing, in approval mode', async () => {
    // Prepare
    const deps = {
      ...env,
      busName: 'pullmedic-prod',
      policy: { ...env.policy, rollApproval: 'approval' as const },
    };

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, deps);

    // Assess
    expect(emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.volumeRollProposed,
    ]);
    const proposed = VolumeRollProposedDetail.parse(emitted[0]?.detail);
    expect(proposed).toMatchObject({
      nodegroup: { kind: 'managed', name: NODEGROUP },
      launchTemplate: { id: LAUNCH_TEMPLATE_ID, version: 3 },
      oldSizeGiB: 20,
      newSizeGiB: 100,
    });
    const entries = JSON.parse(
      proposed.approve.match(/--entries '(.*)'$/)?.[1] ?? '[]'
    );
    expect(entries[0]).toMatchObject({
      EventBusName: 'pullmedic-prod',
      Source: 'pullmedic.operator',
      DetailType: DETAIL_TYPES.volumeRollApproved,
    });
    const approval = VolumeRollRequestedDetail.parse(
      JSON.parse(entries[0].Detail)
    );
    expect(approval.incidentId).toBe(INCIDENT_ID);
    expectNoWrites();
  });

  it('names the default bus in the approval command when none is configured', async () => {
    // Prepare
    const deps = {
      ...env,
      policy: { ...env.policy, rollApproval: 'approval' as const },
    };

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, deps);

    // Assess
    expect(
      String(detailOf(emitted[0], DETAIL_TYPES.volumeRollProposed).approve)
    ).toContain('"EventBusName":"pullmedic"');
  });

  it('rolls once the request carries an approval, in approval mode', async () => {
    // Prepare
    const deps = {
      ...env,
      policy: { ...env.policy, rollApproval: 'approval' as const },
    };

    // Act
    const emitted = await rollVolume(
      aRollRequest({ approvedBy: 'alice' }),
      LIVE,
      deps
    );

    // Assess
    expect(emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.volumeRollStarted,
    ]);
    expect(env.launchTemplates.callCount('createVersion')).toBe(1);
  });

  it('stops at the fleet-wide limit of rolls an hour, tells on-call, and lets go of the group', async () => {
    // Prepare
    const deps = { ...env, policy: { ...env.policy, maxRollsPerHour: 0 } };

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, deps);

    // Assess
    expect(emitted.map((e) => e.detailType)).toEqual([
      DETAIL_TYPES.incidentEscalated,
    ]);
    expect(emitted[0]?.detail).toMatchObject({
      incidentId: INCIDENT_ID,
      reason: expect.stringContaining(
        'was not started: the fleet-wide limit of 0 rolls an hour is reached'
      ),
      nextSteps: expect.arrayContaining([
        expect.stringContaining('PULLMEDIC_MAX_ROLLS_PER_HOUR'),
      ]),
    });
    expect(env.launchTemplates.callCount('createVersion')).toBe(0);
    const stored = env.incidents
      .incidents()
      .find((i) => i.incidentId === INCIDENT_ID);
    expect(stored?.step).toBe('escalated');
    expect(stored?.timeline.at(-1)?.detail).toMatch(
      /^the volume roll of .* was not started: the fleet-wide limit of 0 rolls an hour is reached; next: Roll .* by hand/
    );
    const next = await env.locks.acquire(
      `${CLUSTER}/${NODEGROUP}`,
      'another-incident',
      new Date(NOW),
      600
    );
    expect(next).toEqual({ acquired: true });
  });

  it('keeps quiet when the group is already rolling for another incident', async () => {
    // Prepare
    await env.locks.acquire(
      `${CLUSTER}/${NODEGROUP}`,
      'the-first-incident',
      new Date(NOW),
      env.policy.rollCooldownSeconds
    );

    // Act
    const emitted = await rollVolume(aRollRequest(), LIVE, env);

    // Assess
    expect(emitted).toEqual([]);
    expect(env.launchTemplates.callCount('createVersion')).toBe(0);
    const stored = env.incidents
      .incidents()
      .find((i) => i.incidentId === INCIDENT_ID);
    expect(stored?.timeline.at(-1)?.detail).toBe(
      `node group ${NODEGROUP} is already rolling for the-first-incident`
    );
  });

  it('approves with a command whose single quotes cannot end the shell string', () => {
    // Act
    const command = approvalCommand(
      aRollRequest({ reason: "it's full" }),
      'bus'
    );

    // Assess
    expect(command.match(/'/g)).toHaveLength(2);
  });

  it('rolls for another incident once the cooldown has passed', async () => {
    // Prepare
    await rollVolume(aRollRequest(), LIVE, env);
    env.clock.advance(env.policy.rollCooldownSeconds + 1);
    const otherId = `${CLUSTER}/${NODE_NAME}/20261120T160000Z`;
    // The node's next incident, after the first one was resolved.
    env.incidents.seed({ ...ROLL_REQUESTED, incidentId: otherId });

    // Act
    const emitted = await rollVolume(
      aRollRequest({ incidentId: otherId }),
      asEvent(LIVE, 'event-2'),
      env
    );

    // Assess
    expect(emitted[0]?.detailType).toBe(DETAIL_TYPES.volumeRollStarted);
    expect(env.launchTemplates.callCount('createVersion')).toBe(2);
    expect(env.locks.lock(`${CLUSTER}/${NODEGROUP}`)?.holder).toBe(otherId);
  });

  it('writes no version and starts no rollout when the run is dry-run', async () => {
    // Act
    const emitted = await rollVolume(aRollRequest(), DRY_RUN, env);

    // Assess
    expectNoWrites();
    expect(env.locks.callCount('acquire')).toBe(0);
    expect(VolumeRollStartedDetail.parse(emitted[0]?.detail)).toMatchObject({
      dryRun: true,
      launchTemplate: {
        id: LAUNCH_TEMPLATE_ID,
        oldVersion: 3,
        newVersion: null,
      },
      oldSizeGiB: 20,
      newSizeGiB: 100,
      rollout: { kind: 'eks-nodegroup-update', id: null },
    });
    expect(env.incidents.incidents()[0]?.timeline.at(-1)).toEqual({
      at: NOW,
      step: 'roll-started',
      eventId: 'event-1',
      detail: `[dry-run] would create ${LAUNCH_TEMPLATE_ID} version (none): /dev/xvda 20 → 100 GiB; eks-nodegroup-update`,
    });
    expect(env.incidents.incidents()[0]?.step).toBe('roll-requested');
    expect(env.locks.callCount('countRoll')).toBe(0);
  });

  it('writes nothing when the request itself was decided in dry-run', async () => {
    // Act
    const emitted = await rollVolume(aRollRequest({ dryRun: true }), LIVE, env);

    // Assess
    expectNoWrites();
    expect(emitted[0]?.detail).toMatchObject({
      dryRun: true,
      launchTemplate: { newVersion: null },
    });
  });

  it('escalates and reads nothing when the kill switch is on', async () => {
    // Act
    const emitted = await rollVolume(aRollRequest(), OFF, env);

    // Assess
    expect(IncidentEscalatedDetail.parse(emitted[0]?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME, instanceId: INSTANCE_ID },
      dryRun: true,
      incidentId: INCIDENT_ID,
      reason: 'the kill switch is on: the volume roll was not done',
      nextSteps: [
        `Grow the volume of ${NODE_NAME}'s node group to at least 100 GiB by hand.`,
      ],
    });
    expect(env.nodes.callCount('origin')).toBe(0);
    expectNoWrites();
  });

  it('escalates when the request names no instance', async () => {
    // Act
    const emitted = await rollVolume(
      aRollRequest({ node: { name: NODE_NAME } }),
      LIVE,
      env
    );

    // Assess
    expect(IncidentEscalatedDetail.parse(emitted[0]?.detail)).toEqual({
      cluster: CLUSTER,
      node: { name: NODE_NAME },
      dryRun: false,
      incidentId: INCIDENT_ID,
      reason: 'the roll request names no instance',
      nextSteps: [
        `Find ${NODE_NAME}'s node group and grow its volume to 100 GiB.`,
      ],
    });
    expect(env.nodes.callCount('origin')).toBe(0);
    expectNoWrites();
  });
});

describe('Function: rollPathOf', () => {
  it('returns the managed path with the node group template when the node is in a managed node group', () => {
    // Act
    const path = rollPathOf(anOrigin(), 100);

    // Assess
    expect(path).toEqual({
      kind: 'managed',
      cluster: CLUSTER,
      nodegroup: NODEGROUP,
      launchTemplate: { id: LAUNCH_TEMPLATE_ID, name: 'gpu-nodes', version: 3 },
    });
  });

  it('returns the self-managed path when the node is in an Auto Scaling group with a template', () => {
    // Act
    const path = rollPathOf(aSelfManagedOrigin(), 100);

    // Assess
    expect(path).toEqual({
      kind: 'self-managed',
      group: 'self-managed-gpu',
      launchTemplate: { id: LAUNCH_TEMPLATE_ID, version: 7 },
    });
  });

  it('returns hands-off with the tag to add when the template has not opted in', () => {
    // Act
    const path = rollPathOf(anOrigin({ rollOptIn: false }), 100);

    // Assess
    expect(path.kind).toBe('hands-off');
    if (path.kind !== 'hands-off') return;
    expect(path.why).toContain(
      'has not opted in (tag pullmedic.io/allow-roll=true)'
    );
    expect(path.nextSteps[0]).toContain('aws ec2 create-tags');
  });

  it('returns hands-off for Karpenter before anything else', () => {
    // Act
    const path = rollPathOf(
      aSelfManagedOrigin({
        karpenterNodePool: 'default',
        managedBy: 'terraform',
      }),
      100
    );

    // Assess
    expect(path).toMatchObject({
      kind: 'hands-off',
      why: 'the node was launched by Karpenter (NodePool default)',
    });
  });
});
