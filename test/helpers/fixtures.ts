import type { RunMode } from '#core/context.ts';
import type {
  CommandInvocation,
  IncidentRecord,
  LaunchTemplateData,
  NodeOrigin,
} from '#core/ports.ts';
import { PRUNE_RESULT_PREFIX } from '#core/prune-report.ts';
import type {
  ImagePullFailureClassifiedDetail,
  KubernetesEventDetail,
  KubernetesEventObject,
  PodRef,
  PruneReport,
  SsmCommandInvocationDetail,
  VolumeRollRequestedDetail,
} from '#events/schemas.ts';

// Builders for the data the core's tests feed it. Every default is the
// seed incident (docs: seed/000_4e990c354ddb503e.txt): a GPU node with a
// 20 GiB root volume in a managed node group, whose triton pull ran out of
// disk. Overrides replace fields whole.

export const CLUSTER = 'prod';
export const NODE_NAME = 'ip-10-0-1-149.ec2.internal';
export const INSTANCE_ID = 'i-0abc12345678def90';
export const NODEGROUP = 'gpu-a10g';
export const LAUNCH_TEMPLATE_ID = 'lt-0123456789abcdef0';
export const KMS_KEY_ID =
  'arn:aws:kms:us-east-1:478253497479:key/1234abcd-12ab-34cd-56ef-1234567890ab';
export const SEED_IMAGE =
  '478253497479.dkr.ecr.us-east-1.amazonaws.com/triton:resnet50';
/** When the kubelet reported the failed pull. */
export const FAILED_AT = '2026-11-20T09:40:59Z';
export const SEED_POD = {
  namespace: 'inference',
  name: 'triton-79569cfbbc-m2wcc',
};
export const SEED_MESSAGE = `Failed to pull image "${SEED_IMAGE}": failed to pull and unpack image "${SEED_IMAGE}": failed to extract layer (application/vnd.oci.image.layer.v1.tar+gzip sha256:573e602e6564cb45ecb9743e909c510eec7a78e6db1a3a1a7c343c091705bce1) to overlayfs as "extract-871885561-oknc sha256:85b8e878ad28f1bea36973f8a98ff4df41b8cf62db7583f9edce5fca0b9e582f": write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/360/fs/opt/nvidia/nsight-compute/2023.3.1/docs/pdf/NsightCompute.pdf: no space left on device`;

export const GiB = 1024 ** 3;

/**
 * Run modes as runModeOf returns them, for the event `event-1`: a claim
 * is held by the EventBridge id of the request that made it, so a test of
 * another event says so (`asEvent(LIVE, 'event-2')`).
 */
export const LIVE: RunMode = {
  mode: 'live',
  dryRun: false,
  scope: 'live',
  eventId: 'event-1',
};
export const DRY_RUN: RunMode = {
  mode: 'dry-run',
  dryRun: true,
  scope: 'live',
  eventId: 'event-1',
};
export const OFF: RunMode = {
  mode: 'off',
  dryRun: true,
  scope: 'live',
  eventId: 'event-1',
};
/** The same run mode for another event (another EventBridge id). */
export const asEvent = (run: RunMode, eventId: string): RunMode => ({
  ...run,
  eventId,
});
export const replayRun = (name: string): RunMode => ({
  mode: 'dry-run',
  dryRun: true,
  replayName: name,
  scope: `replay:${name}`,
  eventId: 'event-1',
});

/** The seed's `Image Pull Failure Classified`: disk_full, remedy prune. */
export const aClassifiedDetail = (
  overrides: Partial<ImagePullFailureClassifiedDetail> = {}
): ImagePullFailureClassifiedDetail => ({
  cluster: CLUSTER,
  node: { name: NODE_NAME, instanceId: INSTANCE_ID },
  dryRun: false,
  class: 'disk_full',
  evidence: 'no space left on device',
  causeKnown: true,
  remedy: 'prune',
  pod: { ...SEED_POD },
  image: SEED_IMAGE,
  registry: '478253497479.dkr.ecr.us-east-1.amazonaws.com',
  layerDigest:
    'sha256:573e602e6564cb45ecb9743e909c510eec7a78e6db1a3a1a7c343c091705bce1',
  path: '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/360/fs/opt/nvidia/nsight-compute/2023.3.1/docs/pdf/NsightCompute.pdf',
  runtime: 'containerd',
  filesystem: 'containerd_root',
  kubernetesEvent: {
    reason: 'Failed',
    type: 'Warning',
    time: FAILED_AT,
    uid: '0d6f3b7a-1c2e-4f5a-8b9c-a00000000006',
    count: 1,
    message: SEED_MESSAGE,
  },
  ...overrides,
});

/** The kubelet's BackOff of the seed pod, classified: it names no cause. */
export const aBackOffDetail = (
  time = '2026-11-20T09:41:10Z',
  pod: PodRef = SEED_POD
): ImagePullFailureClassifiedDetail =>
  aClassifiedDetail({
    class: 'other',
    evidence: null,
    causeKnown: false,
    remedy: 'none',
    pod,
    kubernetesEvent: {
      reason: 'BackOff',
      type: 'Normal',
      time,
      message: `Back-off pulling image "${SEED_IMAGE}"`,
    },
  });

/** A CRI-O failure staged in /var/tmp: disk_full, but remedy escalate. */
export const aCrioTmpClassifiedDetail = (
  overrides: Partial<ImagePullFailureClassifiedDetail> = {}
): ImagePullFailureClassifiedDetail =>
  aClassifiedDetail({
    remedy: 'escalate',
    runtime: 'cri-o',
    filesystem: 'crio_tmp',
    path: '/var/tmp/storage123/1',
    ...overrides,
  });

/** The seed's kubelet event, as the forwarder sends it. */
export const aKubernetesEvent = (
  overrides: Partial<KubernetesEventObject> = {}
): KubernetesEventObject => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: {
    name: 'triton-79569cfbbc-m2wcc.187a3c2b4e5f0015',
    namespace: 'inference',
    uid: '0d6f3b7a-1c2e-4f5a-8b9c-a00000000006',
    creationTimestamp: FAILED_AT,
  },
  involvedObject: {
    kind: 'Pod',
    namespace: SEED_POD.namespace,
    name: SEED_POD.name,
    fieldPath: 'spec.containers{triton}',
  },
  reason: 'Failed',
  message: SEED_MESSAGE,
  type: 'Warning',
  count: 1,
  firstTimestamp: FAILED_AT,
  lastTimestamp: FAILED_AT,
  source: { component: 'kubelet', host: NODE_NAME },
  ...overrides,
});

export const aKubernetesEventDetail = (
  event: KubernetesEventObject = aKubernetesEvent(),
  overrides: Partial<KubernetesEventDetail> = {}
): KubernetesEventDetail => ({ cluster: CLUSTER, event, ...overrides });

/** A `Normal` kubelet event that proves the node pulls again. */
export const aPulledEvent = (
  at: string,
  overrides: Partial<KubernetesEventObject> = {}
): KubernetesEventObject =>
  aKubernetesEvent({
    reason: 'Pulled',
    type: 'Normal',
    message: `Successfully pulled image "${SEED_IMAGE}" in 1m2.5s`,
    eventTime: null,
    firstTimestamp: at,
    lastTimestamp: at,
    metadata: {
      name: 'triton-79569cfbbc-m2wcc.187a3c2b4e5f0020',
      namespace: 'inference',
      creationTimestamp: at,
    },
    ...overrides,
  });

/** The seed node: AL2023, 20 GiB root, managed node group with a template. */
export const anOrigin = (overrides: Partial<NodeOrigin> = {}): NodeOrigin => ({
  instanceId: INSTANCE_ID,
  amiFamily: 'al2023',
  rootDeviceName: '/dev/xvda',
  volumes: [{ deviceName: '/dev/xvda', sizeGiB: 20 }],
  launchTemplate: { id: 'lt-0eks0copy000000001', version: 1 },
  autoScalingGroup: 'eks-gpu-a10g-20c5a1b2-asg',
  eksNodegroup: {
    cluster: CLUSTER,
    name: NODEGROUP,
    launchTemplate: { id: LAUNCH_TEMPLATE_ID, name: 'gpu-nodes', version: 3 },
  },
  ...overrides,
});

/** A self-managed node: an Auto Scaling group with a launch template. */
export const aSelfManagedOrigin = (
  overrides: Partial<NodeOrigin> = {}
): NodeOrigin => {
  const { eksNodegroup: _ng, ...origin } = anOrigin({
    launchTemplate: { id: LAUNCH_TEMPLATE_ID, version: 7 },
    autoScalingGroup: 'self-managed-gpu',
  });
  return { ...origin, ...overrides };
};

/** A Bottlerocket node: 4 GiB OS volume, 20 GiB data volume for containerd. */
export const aBottlerocketOrigin = (
  overrides: Partial<NodeOrigin> = {}
): NodeOrigin =>
  anOrigin({
    amiFamily: 'bottlerocket',
    volumes: [
      { deviceName: '/dev/xvda', sizeGiB: 4 },
      { deviceName: '/dev/xvdb', sizeGiB: 20 },
    ],
    ...overrides,
  });

/**
 * Launch template data with every kind of field a real one has: mappings
 * with IOPS, throughput, encryption and a KMS key, an instance store, a
 * suppressed device, and non-mapping fields (UserData, MetadataOptions…).
 */
export const aLaunchTemplateData = (
  overrides: Partial<LaunchTemplateData> = {}
): LaunchTemplateData => ({
  ImageId: 'ami-0123456789abcdef0',
  InstanceType: 'g5.xlarge',
  UserData: Buffer.from(
    'MIME-Version: 1.0\n--//\nContent-Type: application/node.eks.aws\n'
  ).toString('base64'),
  MetadataOptions: {
    HttpTokens: 'required',
    HttpPutResponseHopLimit: 2,
    HttpEndpoint: 'enabled',
  },
  SecurityGroupIds: ['sg-0123456789abcdef0'],
  TagSpecifications: [
    {
      ResourceType: 'instance',
      Tags: [{ Key: 'team', Value: 'inference' }],
    },
  ],
  BlockDeviceMappings: [
    {
      DeviceName: '/dev/xvda',
      Ebs: {
        VolumeSize: 20,
        VolumeType: 'gp3',
        Iops: 3000,
        Throughput: 125,
        Encrypted: true,
        KmsKeyId: KMS_KEY_ID,
        DeleteOnTermination: true,
      },
    },
    {
      DeviceName: '/dev/xvdb',
      Ebs: {
        VolumeSize: 50,
        VolumeType: 'io2',
        Iops: 8000,
        Encrypted: true,
        KmsKeyId: KMS_KEY_ID,
        DeleteOnTermination: false,
        SnapshotId: 'snap-0123456789abcdef0',
      },
    },
    { DeviceName: '/dev/sdc', VirtualName: 'ephemeral0' },
    { DeviceName: '/dev/sdd', NoDevice: '' },
  ],
  ...overrides,
});

/** The prune document's result: 16 GiB freed on a 20 GiB filesystem. */
export const aPruneReport = (
  overrides: Partial<PruneReport> = {}
): PruneReport => ({
  v: 1,
  dryRun: false,
  fsBytesTotal: 20 * GiB,
  bytesBefore: 19.5 * GiB,
  bytesAfter: 3.5 * GiB,
  bytesFreed: 16 * GiB,
  freeBytesAfter: 16.5 * GiB,
  imagesRemoved: 7,
  imagesRemovedRefs: ['docker.io/library/nginx:1.25'],
  pauseImage: '602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/pause:3.9',
  pauseImageIntact: true,
  leftoverSnapshotsRemoved: 1,
  tools: { crictl: '1.29.0', ctr: '1.7.11' },
  method: 'crictl',
  errors: [],
  ...overrides,
});

/** The line the prune document prints for a report. */
export const pruneReportLine = (report: unknown = aPruneReport()): string =>
  `${PRUNE_RESULT_PREFIX}${JSON.stringify(report)}`;

/** The prune command's whole output: chatter, then the result line. */
export const pruneStdout = (report: unknown = aPruneReport()): string =>
  [
    'pruning unused images with crictl',
    'Deleted: docker.io/library/nginx:1.25',
    pruneReportLine(report),
    '',
  ].join('\n');

/** An invocation as GetCommandInvocation reports it. */
export const anInvocation = (
  overrides: Partial<CommandInvocation> = {}
): CommandInvocation => ({
  status: 'Success',
  statusDetails: 'Success',
  responseCode: 0,
  stdout: pruneStdout(),
  stderr: '',
  ...overrides,
});

/** aws.ssm's status change of a prune command. */
export const anSsmDetail = (
  overrides: Partial<SsmCommandInvocationDetail> = {}
): SsmCommandInvocationDetail => ({
  'command-id': 'cmd-0001',
  'document-name': 'pullmedic-test-prune-containerd',
  'instance-id': INSTANCE_ID,
  'requested-date-time': '2026-11-20T09:41:00.000Z',
  status: 'Success',
  ...overrides,
});

/** The seed's incident as remediate leaves it after the prune request. */
export const anIncident = (
  overrides: Partial<IncidentRecord> = {}
): IncidentRecord => ({
  key: { cluster: CLUSTER, node: NODE_NAME, scope: 'live' },
  incidentId: `${CLUSTER}/${NODE_NAME}/20261120T094059Z`,
  status: 'open',
  openedAt: '2026-11-20T09:40:59.000Z',
  node: { name: NODE_NAME, instanceId: INSTANCE_ID },
  class: 'disk_full',
  evidence: 'no space left on device',
  pod: { ...SEED_POD },
  image: SEED_IMAGE,
  // As remediate leaves it: the prune sent, its result awaited.
  step: 'prune-sent',
  stepBy: 'event-remediate',
  due: '2026-11-20T10:08:00.000Z',
  prune: {
    intentId: 'event-remediate',
    instanceId: INSTANCE_ID,
    amiFamily: 'al2023',
    documentName: 'pullmedic-test-prune-containerd',
    claimedAt: '2026-11-20T09:41:00.000Z',
    commandId: 'cmd-0001',
    sentAt: '2026-11-20T09:41:00.000Z',
  },
  timeline: [
    {
      at: '2026-11-20T09:40:59.000Z',
      step: 'classified',
      detail: 'Failed: disk_full (no space left on device)',
    },
  ],
  ...overrides,
});

/** A `Volume Roll Requested` for the seed node. */
export const aRollRequest = (
  overrides: Partial<VolumeRollRequestedDetail> = {}
): VolumeRollRequestedDetail => ({
  cluster: CLUSTER,
  node: { name: NODE_NAME, instanceId: INSTANCE_ID },
  dryRun: false,
  incidentId: `${CLUSTER}/${NODE_NAME}/20261120T094059Z`,
  reason:
    'the prune freed 16.0 GiB (82% free), but the volume is 20 GiB, below the group minimum of 100 GiB',
  currentSizeGiB: 20,
  minimumSizeGiB: 100,
  cause: 'below-minimum',
  ...overrides,
});
