import * as z from 'zod';
import { FAILURE_CLASSES } from './failure-classes.ts';
import {
  clusterName,
  imageReference,
  instanceId,
  namespaceName,
  nodeName,
  objectName,
  objectUid,
} from './names.ts';
import { CONTAINERD_VOLUME_RULES } from './volume-rules.ts';

// One zod schema per detail-type; the TypeScript types are inferred from
// them, so a contract and its type cannot drift apart.

const isoTime = z.iso.datetime({ offset: true });

/** An EC2 block device name: `/dev/xvdb`, `/dev/sda1`. */
const deviceName = z
  .string()
  .regex(/^\/dev\/[a-z][a-z0-9]{0,31}$/, 'not a block device name');

/** The parts of a core/v1 Event that pullmedic reads. */
export const KubernetesEventObject = z.object({
  apiVersion: z.string().optional(),
  kind: z.literal('Event').optional(),
  metadata: z.object({
    name: z.string().min(1).max(253),
    namespace: namespaceName.optional(),
    uid: z.string().max(64).optional(),
    resourceVersion: z.string().max(64).optional(),
    creationTimestamp: isoTime.optional(),
  }),
  involvedObject: z.object({
    kind: z.string().max(63),
    namespace: namespaceName.optional(),
    name: objectName,
    uid: z.string().max(64).optional(),
    fieldPath: z.string().max(253).optional(),
  }),
  reason: z.string().max(128),
  message: z
    .string()
    .max(64 * 1024)
    .default(''),
  type: z.enum(['Normal', 'Warning']),
  count: z.number().int().nonnegative().optional(),
  firstTimestamp: isoTime.nullish(),
  lastTimestamp: isoTime.nullish(),
  eventTime: isoTime.nullish(),
  /**
   * A recurring event (the events.k8s.io recorder): how often, and when
   * last. `eventTime` is its first observation; this is its latest.
   */
  series: z
    .object({
      count: z.number().int().nonnegative().optional(),
      lastObservedTime: isoTime.nullish(),
    })
    .nullish(),
  source: z
    .object({
      component: z.string().max(128).optional(),
      host: nodeName.optional(),
    })
    .optional(),
  reportingComponent: z.string().max(128).optional(),
  reportingInstance: z.string().max(253).optional(),
});
export type KubernetesEventObject = z.infer<typeof KubernetesEventObject>;

export const NodeRef = z.object({
  name: nodeName,
  instanceId: instanceId.optional(),
  providerID: z.string().max(128).optional(),
});
export type NodeRef = z.infer<typeof NodeRef>;

export const PodRef = z.object({
  namespace: namespaceName,
  name: objectName,
});
export type PodRef = z.infer<typeof PodRef>;

/** `Kubernetes Event`: a forwarded core/v1 Event, with its cluster and node. */
export const KubernetesEventDetail = z.object({
  cluster: clusterName,
  event: KubernetesEventObject,
  node: NodeRef.optional(),
  /**
   * `sweep`: no Event announced it; the cluster agent found the pod waiting
   * in ImagePullBackOff or ErrImagePull and wrote this entry in the
   * kubelet's wording (source `pullmedic.agent`).
   */
  foundBy: z.enum(['sweep']).optional(),
});
export type KubernetesEventDetail = z.infer<typeof KubernetesEventDetail>;

/** Fields every pipeline decision carries. */
const Decision = z.object({
  cluster: clusterName,
  node: NodeRef,
  /** True when the decision was taken but not acted on (replay, dry-run). */
  dryRun: z.boolean(),
  /** Set when the decision came from an EventBridge replay. */
  replayName: z.string().max(64).optional(),
});

export const ImagePullFailureClassifiedDetail = Decision.extend({
  class: z.enum(FAILURE_CLASSES),
  evidence: z.string().max(1024).nullable(),
  causeKnown: z.boolean(),
  remedy: z.enum(['prune', 'escalate', 'grow_volume', 'notify', 'none']),
  pod: PodRef.optional(),
  image: imageReference.optional(),
  registry: z.string().max(253).optional(),
  layerDigest: z.string().max(80).optional(),
  path: z.string().max(4096).optional(),
  runtime: z.enum(['containerd', 'cri-o', 'docker']).optional(),
  filesystem: z.string().max(32).optional(),
  /** The image-pull phrase that made the ENOSPC count as a pull. */
  pullContext: z.string().max(256).optional(),
  /** image_gc_failed: what the kubelet wanted to free, and what it freed. */
  gcWantedBytes: z.number().nonnegative().optional(),
  gcFreedBytes: z.number().nonnegative().optional(),
  kubernetesEvent: z.object({
    reason: z.string(),
    type: z.enum(['Normal', 'Warning']),
    time: isoTime,
    uid: z.string().optional(),
    count: z.number().int().optional(),
    message: z.string().max(4096),
  }),
});
export type ImagePullFailureClassifiedDetail = z.infer<
  typeof ImagePullFailureClassifiedDetail
>;

export const IncidentOpenedDetail = Decision.extend({
  incidentId: z.string(),
  openedAt: isoTime,
  class: z.enum(FAILURE_CLASSES),
  evidence: z.string().max(1024).nullable(),
  pod: PodRef.optional(),
  image: imageReference.optional(),
});
export type IncidentOpenedDetail = z.infer<typeof IncidentOpenedDetail>;

export const NodePruneRequestedDetail = Decision.extend({
  incidentId: z.string(),
  commandId: z.string(),
  documentName: z.string(),
  parameters: z.record(z.string(), z.array(z.string())),
  requestedAt: isoTime,
});
export type NodePruneRequestedDetail = z.infer<typeof NodePruneRequestedDetail>;

/** The script's machine-readable result line, as the document prints it. */
export const PruneReport = z.object({
  v: z.literal(1),
  dryRun: z.boolean(),
  fsBytesTotal: z.number().nonnegative(),
  bytesBefore: z.number().nonnegative(),
  bytesAfter: z.number().nonnegative(),
  bytesFreed: z.number(),
  freeBytesAfter: z.number().nonnegative(),
  imagesRemoved: z.number().int().nonnegative(),
  imagesRemovedRefs: z.array(z.string()).default([]),
  pauseImage: z.string().nullable().default(null),
  pauseImageIntact: z.boolean(),
  leftoverSnapshotsRemoved: z.number().int().nonnegative().default(0),
  tools: z.record(z.string(), z.string().nullable()).default({}),
  method: z.string(),
  errors: z.array(z.string()).default([]),
  /**
   * The EBS volume behind containerd's root, as the node saw it: its id
   * (Nitro), its block device (`/dev/nvme1n1`, or the mapping's name on
   * Xen), null where there is none (a tmpfs). Older scripts print no such
   * field, and one that does not parse counts as unknown: the rest of the
   * report still holds.
   */
  volume: z
    .object({
      id: z
        .string()
        .regex(/^vol-[0-9a-f]{8,17}$/)
        .nullable(),
      device: z
        .string()
        .regex(/^\/dev\/[a-z][a-z0-9-]{0,30}[a-z0-9]$/)
        .nullable(),
    })
    .optional()
    .catch(undefined),
});
export type PruneReport = z.infer<typeof PruneReport>;

export const NodePruneCompletedDetail = Decision.extend({
  incidentId: z.string(),
  commandId: z.string(),
  /** The SSM invocation status (Success, Failed, TimedOut, …). */
  status: z.string(),
  report: PruneReport.nullable(),
  /** What pullmedic decided from the report. */
  outcome: z.enum(['recovering', 'roll', 'escalate']),
  reason: z.string(),
  commandError: z.string().max(4096).optional(),
  volumeSizeGiB: z.number().positive().optional(),
  /** The volume that holds containerd, and the rule that decided it. */
  volumeDeviceName: deviceName.optional(),
  volumeRule: z.enum(CONTAINERD_VOLUME_RULES).optional(),
});
export type NodePruneCompletedDetail = z.infer<typeof NodePruneCompletedDetail>;

export const VolumeRollRequestedDetail = Decision.extend({
  incidentId: z.string(),
  reason: z.string(),
  currentSizeGiB: z.number().positive().optional(),
  minimumSizeGiB: z.number().positive(),
  /** Below the minimum (grow to it), or the prune was not enough (grow more). */
  cause: z
    .enum(['below-minimum', 'too-little-freed', 'prune-failed'])
    .default('too-little-freed'),
  /** Set by the person who approved a proposed roll (approval mode). */
  approvedBy: z.string().min(1).max(128).optional(),
  /**
   * The volume that holds containerd and the rule that decided it, when
   * the requester knew: the roll grows that device, the one it measured.
   */
  deviceName: deviceName.optional(),
  volumeRule: z.enum(CONTAINERD_VOLUME_RULES).optional(),
});
export type VolumeRollRequestedDetail = z.infer<
  typeof VolumeRollRequestedDetail
>;

/** A node group pullmedic rolls, and how it is managed. */
const RolledNodegroup = z.object({
  kind: z.enum(['managed', 'self-managed']),
  name: z.string(),
});

const RolloutKind = z.enum(['eks-nodegroup-update', 'asg-instance-refresh']);

export const VolumeRollStartedDetail = Decision.extend({
  incidentId: z.string(),
  nodegroup: RolledNodegroup,
  launchTemplate: z.object({
    id: z.string(),
    name: z.string().optional(),
    oldVersion: z.number().int().positive(),
    newVersion: z.number().int().positive().nullable(),
  }),
  deviceName: z.string(),
  oldSizeGiB: z.number().positive(),
  newSizeGiB: z.number().positive(),
  rollout: z.object({
    kind: RolloutKind,
    id: z.string().nullable(),
  }),
  undo: z.string(),
});
export type VolumeRollStartedDetail = z.infer<typeof VolumeRollStartedDetail>;

/** The planned change of a node group's volume, in approval mode. */
export const VolumeRollProposedDetail = Decision.extend({
  incidentId: z.string(),
  nodegroup: RolledNodegroup,
  launchTemplate: z.object({
    id: z.string(),
    version: z.number().int().positive(),
  }),
  deviceName: z.string(),
  oldSizeGiB: z.number().positive(),
  newSizeGiB: z.number().positive(),
  /** The exact command that approves it. */
  approve: z.string(),
});
export type VolumeRollProposedDetail = z.infer<typeof VolumeRollProposedDetail>;

/** How a started rollout ended, as EKS or Auto Scaling reported it. */
export const VolumeRollCompletedDetail = Decision.extend({
  incidentId: z.string(),
  nodegroup: RolledNodegroup,
  rollout: z.object({
    kind: RolloutKind,
    id: z.string(),
  }),
  status: z.string(),
  succeeded: z.boolean(),
  errors: z.array(z.string()).default([]),
  checks: z.number().int().nonnegative(),
  /** What the roll changed and how to undo it, from its start. */
  change: z
    .object({
      launchTemplate: z.object({
        id: z.string(),
        oldVersion: z.number().int().positive(),
        newVersion: z.number().int().positive().nullable(),
      }),
      deviceName: z.string(),
      oldSizeGiB: z.number().positive(),
      newSizeGiB: z.number().positive(),
      undo: z.string(),
    })
    .optional(),
});
export type VolumeRollCompletedDetail = z.infer<
  typeof VolumeRollCompletedDetail
>;

export const TimelineEntry = z.object({
  at: isoTime,
  step: z.string(),
  detail: z.string(),
  eventId: z.string().optional(),
  /** The pod a step is about (a restart, a pod left alone). */
  pod: PodRef.optional(),
  /** A restarted pod's controller: its replacement's name starts with `<name>-`. */
  owner: z.object({ kind: z.string(), name: z.string() }).optional(),
  /** The pods this step asked the cluster agent to restart. */
  restarts: z.array(PodRef).max(50).optional(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const IncidentResolvedDetail = Decision.extend({
  incidentId: z.string(),
  openedAt: isoTime,
  resolvedAt: isoTime,
  mttrSeconds: z.number().nonnegative(),
  resolvedBy: z.object({
    reason: z.string(),
    pod: PodRef.optional(),
    message: z.string().max(4096),
  }),
  /**
   * When the proof is the Started of a pod the cluster agent restarted:
   * the pod deleted, its replacement, and the time from the delete to the
   * replacement's Started.
   */
  restart: z
    .object({
      pod: PodRef,
      replacement: PodRef,
      startedAfterSeconds: z.number().nonnegative(),
    })
    .optional(),
  timeline: z.array(TimelineEntry),
});
export type IncidentResolvedDetail = z.infer<typeof IncidentResolvedDetail>;

export const IncidentEscalatedDetail = Decision.extend({
  incidentId: z.string().optional(),
  reason: z.string(),
  /** What a person must do now, in order. */
  nextSteps: z.array(z.string()).min(1),
  class: z.enum(FAILURE_CLASSES).optional(),
});
export type IncidentEscalatedDetail = z.infer<typeof IncidentEscalatedDetail>;

/** A pod a restart request names; `uid` pins the very pod the incident saw. */
export const PodRestartTarget = PodRef.extend({
  uid: objectUid.optional(),
});
export type PodRestartTarget = z.infer<typeof PodRestartTarget>;

/** At most this many pods in one request (and one EventBridge entry). */
export const MAX_PODS_PER_REQUEST = 50;

/**
 * `Pod Restart Requested` (source `pullmedic`): the node has room again
 * (after a prune that freed enough, or once a rollout replaced it), so the
 * cluster agent may delete the incident's pods still stuck pulling, and
 * their controllers recreate them at once instead of after the kubelet's
 * back-off (up to five minutes).
 */
export const PodRestartRequestedDetail = Decision.extend({
  incidentId: z.string().min(1).max(512),
  /** The image the incident failed to pull: only pods waiting on it restart. */
  image: imageReference.optional(),
  pods: z.array(PodRestartTarget).min(1).max(MAX_PODS_PER_REQUEST),
  after: z.enum(['prune', 'rollout']),
  /** The per-incident maximum: pods beyond it (in order) are left alone. */
  maxPods: z.number().int().min(1).max(1000),
  requestedAt: isoTime,
});
export type PodRestartRequestedDetail = z.infer<
  typeof PodRestartRequestedDetail
>;

/** The controllers whose pods the agent deletes: they make a new one. */
export const RESTARTABLE_OWNER_KINDS = [
  'ReplicaSet',
  'StatefulSet',
  'Job',
  'DaemonSet',
] as const;

/** `Pod Restarted` (source `pullmedic.agent`): the agent deleted the pod. */
export const PodRestartedDetail = z.object({
  cluster: clusterName,
  node: NodeRef,
  incidentId: z.string().min(1).max(512),
  pod: PodRef.extend({ uid: objectUid }),
  owner: z.object({
    kind: z.enum(RESTARTABLE_OWNER_KINDS),
    name: objectName,
  }),
  image: imageReference.optional(),
  deletedAt: isoTime,
});
export type PodRestartedDetail = z.infer<typeof PodRestartedDetail>;

/** Why the agent left a pod alone. */
export const POD_RESTART_SKIP_REASONS = [
  'not-found',
  'other-node',
  'not-stuck',
  'bare-pod',
  'opted-out',
  'over-limit',
  'dry-run',
  'uid-changed',
  'forbidden',
  'error',
] as const;
export type PodRestartSkipReason = (typeof POD_RESTART_SKIP_REASONS)[number];

/** `Pod Restart Skipped` (source `pullmedic.agent`): a pod left alone, and why. */
export const PodRestartSkippedDetail = z.object({
  cluster: clusterName,
  node: NodeRef,
  incidentId: z.string().min(1).max(512),
  pod: PodRestartTarget,
  reason: z.enum(POD_RESTART_SKIP_REASONS),
  /** A sentence on-call can read. */
  why: z.string().min(1).max(1024),
  image: imageReference.optional(),
  /**
   * Carried over from the request, so a dry-run's or a replay's skip joins
   * the incident of its own scope.
   */
  dryRun: z.boolean().optional(),
  replayName: z.string().max(64).optional(),
});
export type PodRestartSkippedDetail = z.infer<typeof PodRestartSkippedDetail>;

/**
 * `EC2 Command Invocation Status-change Notification` from aws.ssm. The
 * event carries no output: the handler reads it with GetCommandInvocation.
 */
export const SsmCommandInvocationDetail = z.object({
  'command-id': z.string().min(1).max(64),
  'document-name': z.string().min(1).max(128),
  'instance-id': instanceId,
  'requested-date-time': z.string().optional(),
  status: z.string().min(1).max(32),
});
export type SsmCommandInvocationDetail = z.infer<
  typeof SsmCommandInvocationDetail
>;

/**
 * The EventBridge envelope as rules deliver it. `account` is optional: moto
 * leaves it out, and nothing here depends on it.
 */
export const Envelope = z.object({
  version: z.string().optional(),
  id: z.string().min(1),
  'detail-type': z.string(),
  source: z.string(),
  account: z.string().optional(),
  time: z.string(),
  region: z.string().optional(),
  resources: z.array(z.string()).default([]),
  'replay-name': z.string().optional(),
  detail: z.unknown(),
});
export type Envelope = z.infer<typeof Envelope>;

/**
 * An envelope whose detail is checked against `detail`.
 *
 * @example
 * ```ts
 * const schema = envelopeOf(KubernetesEventDetail);
 * const event = schema.parse(JSON.parse(record.body));
 * ```
 */
export const envelopeOf = <T extends z.ZodType>(detail: T) =>
  Envelope.extend({ detail });
