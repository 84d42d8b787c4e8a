import { DETAIL_TYPES } from '../../events/detail-types.ts';

// One incident's pipeline events as the notify function receives them, and
// a classification pullmedic does not remediate, with a hostile image name.

export const INCIDENT = 'prod/ip-10-0-1-149.ec2.internal/20261120T094059Z';
const NODE = {
  name: 'ip-10-0-1-149.ec2.internal',
  instanceId: 'i-0abc12345678def90',
};
export const HOSTILE = 'evil.io/x<!channel>*bold*_it_~s~`c`&amp:1';
const base = { cluster: 'prod', node: NODE, dryRun: false };

/** One incident's steps, and a classification pullmedic does not remediate. */
export const steps: [string, Record<string, unknown>][] = [
  [
    DETAIL_TYPES.incidentOpened,
    {
      ...base,
      incidentId: INCIDENT,
      openedAt: '2026-11-20T09:40:59Z',
      class: 'disk_full',
      evidence: 'no space left on device',
      image: HOSTILE,
      pod: { namespace: 'inference', name: 'triton-79569cfbbc-m2wcc' },
    },
  ],
  [
    DETAIL_TYPES.nodePruneRequested,
    {
      ...base,
      incidentId: INCIDENT,
      commandId: 'cmd-1',
      documentName: 'pullmedic-prod-prune-containerd',
      parameters: { DryRun: ['false'] },
      requestedAt: '2026-11-20T09:41:00Z',
    },
  ],
  [
    DETAIL_TYPES.nodePruneCompleted,
    {
      ...base,
      incidentId: INCIDENT,
      commandId: 'cmd-1',
      status: 'Success',
      outcome: 'roll',
      reason: 'the volume is 20 GiB, below the group minimum of 100 GiB',
      report: {
        v: 1,
        dryRun: false,
        fsBytesTotal: 21474836480,
        bytesBefore: 15700000000,
        bytesAfter: 4400000000,
        bytesFreed: 11300000000,
        freeBytesAfter: 17000000000,
        imagesRemoved: 3,
        imagesRemovedRefs: [],
        pauseImage: 'pause:3.10',
        pauseImageIntact: true,
        leftoverSnapshotsRemoved: 1,
        tools: {},
        method: 'crictl-rmi-prune',
        errors: [],
      },
    },
  ],
  [
    DETAIL_TYPES.volumeRollStarted,
    {
      ...base,
      incidentId: INCIDENT,
      nodegroup: { kind: 'managed', name: 'gpu' },
      launchTemplate: {
        id: 'lt-0123456789abcdef0',
        oldVersion: 1,
        newVersion: 2,
      },
      deviceName: '/dev/xvda',
      oldSizeGiB: 20,
      newSizeGiB: 100,
      rollout: { kind: 'eks-nodegroup-update', id: 'u-1' },
      undo: 'aws eks update-nodegroup-version --cluster-name prod --nodegroup-name gpu --launch-template id=lt-0123456789abcdef0,version=1',
    },
  ],
  [
    DETAIL_TYPES.incidentResolved,
    {
      ...base,
      incidentId: INCIDENT,
      openedAt: '2026-11-20T09:40:59Z',
      resolvedAt: '2026-11-20T09:42:34Z',
      mttrSeconds: 95,
      resolvedBy: { reason: 'Pulled', message: 'Successfully pulled image' },
      timeline: [],
    },
  ],
];
export const other: [string, Record<string, unknown>] = [
  DETAIL_TYPES.imagePullFailureClassified,
  {
    ...base,
    class: 'auth',
    evidence: 'pull access denied',
    causeKnown: true,
    remedy: 'notify',
    image: HOSTILE,
    kubernetesEvent: {
      reason: 'Failed',
      type: 'Warning',
      time: '2026-11-20T09:40:00Z',
      message: `Failed to pull image "${HOSTILE}": pull access denied`,
    },
  },
];
