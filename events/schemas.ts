import * as z from 'zod/mini';
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
//
// Each detail's schema is z.lazy: it is built on its first parse, not at
// import. A function reads a few detail-types (classify one, notify the
// dozen it posts about, each when one arrives); building all of them was
// a cold start's largest cost beyond its floor. The small shared parts
// (names, node and pod references, a decision's fields) are built at once.

const isoTime = z.iso.datetime({ offset: true });

/** An EC2 block device name: `/dev/xvdb`, `/dev/sda1`. */
const deviceName = z
  .string()
  .check(z.regex(/^\/dev\/[a-z][a-z0-9]{0,31}$/, 'not a block device name'));

/** The parts of a core/v1 Event that pullmedic reads. */
export const KubernetesEventObject = z.lazy(() =>
  z.object({
    apiVersion: z.optional(z.string()),
    kind: z.optional(z.literal('Event')),
    metadata: z.object({
      name: z.string().check(z.minLength(1), z.maxLength(253)),
      namespace: z.optional(namespaceName),
      uid: z.optional(z.string().check(z.maxLength(64))),
      resourceVersion: z.optional(z.string().check(z.maxLength(64))),
      creationTimestamp: z.optional(isoTime),
    }),
    involvedObject: z.object({
      kind: z.string().check(z.maxLength(63)),
      namespace: z.optional(namespaceName),
      name: objectName,
      uid: z.optional(z.string().check(z.maxLength(64))),
      fieldPath: z.optional(z.string().check(z.maxLength(253))),
    }),
    reason: z.string().check(z.maxLength(128)),
    message: z._default(z.string().check(z.maxLength(64 * 1024)), ''),
    type: z.enum(['Normal', 'Warning']),
    count: z.optional(z.int().check(z.nonnegative())),
    firstTimestamp: z.nullish(isoTime),
    lastTimestamp: z.nullish(isoTime),
    eventTime: z.nullish(isoTime),
    /**
     * A recurring event (the events.k8s.io recorder): how often, and when
     * last. `eventTime` is its first observation; this is its latest.
     */
    series: z.nullish(
      z.object({
        count: z.optional(z.int().check(z.nonnegative())),
        lastObservedTime: z.nullish(isoTime),
      })
    ),
    source: z.optional(
      z.object({
        component: z.optional(z.string().check(z.maxLength(128))),
        host: z.optional(nodeName),
      })
    ),
    reportingComponent: z.optional(z.string().check(z.maxLength(128))),
    reportingInstance: z.optional(z.string().check(z.maxLength(253))),
  })
);
export type KubernetesEventObject = z.infer<typeof KubernetesEventObject>;

export const NodeRef = z.object({
  name: nodeName,
  instanceId: z.optional(instanceId),
  providerID: z.optional(z.string().check(z.maxLength(128))),
});
export type NodeRef = z.infer<typeof NodeRef>;

export const PodRef = z.object({
  namespace: namespaceName,
  name: objectName,
});
export type PodRef = z.infer<typeof PodRef>;

/** `Kubernetes Event`: a forwarded core/v1 Event, with its cluster and node. */
export const KubernetesEventDetail = z.lazy(() =>
  z.object({
    cluster: clusterName,
    event: KubernetesEventObject,
    node: z.optional(NodeRef),
    /**
     * `sweep`: no Event announced it; the cluster agent found the pod waiting
     * in ImagePullBackOff or ErrImagePull and wrote this entry in the
     * kubelet's wording (source `pullmedic.agent`).
     */
    foundBy: z.optional(z.enum(['sweep'])),
  })
);
export type KubernetesEventDetail = z.infer<typeof KubernetesEventDetail>;

/** Fields every pipeline decision carries. */
const Decision = z.object({
  cluster: clusterName,
  node: NodeRef,
  /** True when the decision was taken but not acted on (replay, dry-run). */
  dryRun: z.boolean(),
  /** Set when the decision came from an EventBridge replay. */
  replayName: z.optional(z.string().check(z.maxLength(64))),
});

export const ImagePullFailureClassifiedDetail = z.lazy(() =>
  z.extend(Decision, {
    class: z.enum(FAILURE_CLASSES),
    evidence: z.nullable(z.string().check(z.maxLength(1024))),
    causeKnown: z.boolean(),
    remedy: z.enum(['prune', 'escalate', 'grow_volume', 'notify', 'none']),
    pod: z.optional(PodRef),
    image: z.optional(imageReference),
    registry: z.optional(z.string().check(z.maxLength(253))),
    layerDigest: z.optional(z.string().check(z.maxLength(80))),
    path: z.optional(z.string().check(z.maxLength(4096))),
    runtime: z.optional(z.enum(['containerd', 'cri-o', 'docker'])),
    filesystem: z.optional(z.string().check(z.maxLength(32))),
    /** The image-pull phrase that made the ENOSPC count as a pull. */
    pullContext: z.optional(z.string().check(z.maxLength(256))),
    /** image_gc_failed: what the kubelet wanted to free, and what it freed. */
    gcWantedBytes: z.optional(z.number().check(z.nonnegative())),
    gcFreedBytes: z.optional(z.number().check(z.nonnegative())),
    kubernetesEvent: z.object({
      reason: z.string(),
      type: z.enum(['Normal', 'Warning']),
      time: isoTime,
      uid: z.optional(z.string()),
      count: z.optional(z.int()),
      message: z.string().check(z.maxLength(4096)),
    }),
  })
);
export type ImagePullFailureClassifiedDetail = z.infer<
  typeof ImagePullFailureClassifiedDetail
>;

export const IncidentOpenedDetail = z.lazy(() =>
  z.extend(Decision, {
    incidentId: z.string(),
    openedAt: isoTime,
    class: z.enum(FAILURE_CLASSES),
    evidence: z.nullable(z.string().check(z.maxLength(1024))),
    pod: z.optional(PodRef),
    image: z.optional(imageReference),
  })
);
export type IncidentOpenedDetail = z.infer<typeof IncidentOpenedDetail>;

export const NodePruneRequestedDetail = z.lazy(() =>
  z.extend(Decision, {
    incidentId: z.string(),
    commandId: z.string(),
    documentName: z.string(),
    parameters: z.record(z.string(), z.array(z.string())),
    requestedAt: isoTime,
  })
);
export type NodePruneRequestedDetail = z.infer<typeof NodePruneRequestedDetail>;

/** The script's machine-readable result line, as the document prints it. */
export const PruneReport = z.lazy(() =>
  z.object({
    v: z.literal(1),
    dryRun: z.boolean(),
    fsBytesTotal: z.number().check(z.nonnegative()),
    bytesBefore: z.number().check(z.nonnegative()),
    bytesAfter: z.number().check(z.nonnegative()),
    bytesFreed: z.number(),
    freeBytesAfter: z.number().check(z.nonnegative()),
    imagesRemoved: z.int().check(z.nonnegative()),
    imagesRemovedRefs: z._default(z.array(z.string()), []),
    pauseImage: z._default(z.nullable(z.string()), null),
    pauseImageIntact: z.boolean(),
    leftoverSnapshotsRemoved: z._default(z.int().check(z.nonnegative()), 0),
    tools: z._default(z.record(z.string(), z.nullable(z.string())), {}),
    method: z.string(),
    errors: z._default(z.array(z.string()), []),
    /**
     * The EBS volume behind containerd's root, as the node saw it: its id
     * (Nitro), its block device (`/dev/nvme1n1`, or the mapping's name on
     * Xen), null where there is none (a tmpfs). Older scripts print no such
     * field, and one that does not parse counts as unknown: the rest of the
     * report still holds.
     */
    volume: z.catch(
      z.optional(
        z.object({
          id: z.nullable(z.string().check(z.regex(/^vol-[0-9a-f]{8,17}$/))),
          device: z.nullable(
            z.string().check(z.regex(/^\/dev\/[a-z][a-z0-9-]{0,30}[a-z0-9]$/))
          ),
        })
      ),
      undefined
    ),
  })
);
export type PruneReport = z.infer<typeof PruneReport>;

export const NodePruneCompletedDetail = z.lazy(() =>
  z.extend(Decision, {
    incidentId: z.string(),
    commandId: z.string(),
    /** The SSM invocation status (Success, Failed, TimedOut, …). */
    status: z.string(),
    report: z.nullable(PruneReport),
    /** What pullmedic decided from the report. */
    outcome: z.enum(['recovering', 'roll', 'escalate']),
    reason: z.string(),
    commandError: z.optional(z.string().check(z.maxLength(4096))),
    volumeSizeGiB: z.optional(z.number().check(z.positive())),
    /** The volume that holds containerd, and the rule that decided it. */
    volumeDeviceName: z.optional(deviceName),
    volumeRule: z.optional(z.enum(CONTAINERD_VOLUME_RULES)),
  })
);
export type NodePruneCompletedDetail = z.infer<typeof NodePruneCompletedDetail>;

export const VolumeRollRequestedDetail = z.lazy(() =>
  z.extend(Decision, {
    incidentId: z.string(),
    reason: z.string(),
    currentSizeGiB: z.optional(z.number().check(z.positive())),
    minimumSizeGiB: z.number().check(z.positive()),
    /** Below the minimum (grow to it), or the prune was not enough (grow more). */
    cause: z._default(
      z.enum(['below-minimum', 'too-little-freed', 'prune-failed']),
      'too-little-freed'
    ),
    /** Set by the person who approved a proposed roll (approval mode). */
    approvedBy: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    /**
     * The volume that holds containerd and the rule that decided it, when
     * the requester knew: the roll grows that device, the one it measured.
     */
    deviceName: z.optional(deviceName),
    volumeRule: z.optional(z.enum(CONTAINERD_VOLUME_RULES)),
  })
);
export type VolumeRollRequestedDetail = z.infer<
  typeof VolumeRollRequestedDetail
>;

/** A node group pullmedic rolls, and how it is managed. */
const RolledNodegroup = z.object({
  kind: z.enum(['managed', 'self-managed']),
  name: z.string(),
});

const RolloutKind = z.enum(['eks-nodegroup-update', 'asg-instance-refresh']);

export const VolumeRollStartedDetail = z.lazy(() =>
  z.extend(Decision, {
    incidentId: z.string(),
    nodegroup: RolledNodegroup,
    launchTemplate: z.object({
      id: z.string(),
      name: z.optional(z.string()),
      oldVersion: z.int().check(z.positive()),
      newVersion: z.nullable(z.int().check(z.positive())),
    }),
    deviceName: z.string(),
    oldSizeGiB: z.number().check(z.positive()),
    newSizeGiB: z.number().check(z.positive()),
    rollout: z.object({
      kind: RolloutKind,
      id: z.nullable(z.string()),
    }),
    undo: z.string(),
  })
);
export type VolumeRollStartedDetail = z.infer<typeof VolumeRollStartedDetail>;

/** The planned change of a node group's volume, in approval mode. */
export const VolumeRollProposedDetail = z.lazy(() =>
  z.extend(Decision, {
    incidentId: z.string(),
    nodegroup: RolledNodegroup,
    launchTemplate: z.object({
      id: z.string(),
      version: z.int().check(z.positive()),
    }),
    deviceName: z.string(),
    oldSizeGiB: z.number().check(z.positive()),
    newSizeGiB: z.number().check(z.positive()),
    /** The exact command that approves it. */
    approve: z.string(),
  })
);
export type VolumeRollProposedDetail = z.infer<typeof VolumeRollProposedDetail>;

/** How a started rollout ended, as EKS or Auto Scaling reported it. */
export const VolumeRollCompletedDetail = z.lazy(() =>
  z.extend(Decision, {
    incidentId: z.string(),
    nodegroup: RolledNodegroup,
    rollout: z.object({
      kind: RolloutKind,
      id: z.string(),
    }),
    status: z.string(),
    succeeded: z.boolean(),
    errors: z._default(z.array(z.string()), []),
    checks: z.int().check(z.nonnegative()),
    /** What the roll changed and how to undo it, from its start. */
    change: z.optional(
      z.object({
        launchTemplate: z.object({
          id: z.string(),
          oldVersion: z.int().check(z.positive()),
          newVersion: z.nullable(z.int().check(z.positive())),
        }),
        deviceName: z.string(),
        oldSizeGiB: z.number().check(z.positive()),
        newSizeGiB: z.number().check(z.positive()),
        undo: z.string(),
      })
    ),
  })
);
export type VolumeRollCompletedDetail = z.infer<
  typeof VolumeRollCompletedDetail
>;

export const TimelineEntry = z.lazy(() =>
  z.object({
    at: isoTime,
    step: z.string(),
    detail: z.string(),
    eventId: z.optional(z.string()),
    /** The pod a step is about (a restart, a pod left alone). */
    pod: z.optional(PodRef),
    /** A restarted pod's controller: its replacement's name starts with `<name>-`. */
    owner: z.optional(z.object({ kind: z.string(), name: z.string() })),
    /** The pods this step asked the cluster agent to restart. */
    restarts: z.optional(z.array(PodRef).check(z.maxLength(50))),
  })
);
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const IncidentResolvedDetail = z.lazy(() =>
  z.extend(Decision, {
    incidentId: z.string(),
    openedAt: isoTime,
    resolvedAt: isoTime,
    mttrSeconds: z.number().check(z.nonnegative()),
    resolvedBy: z.object({
      reason: z.string(),
      pod: z.optional(PodRef),
      message: z.string().check(z.maxLength(4096)),
    }),
    /**
     * When the proof is the Started of a pod the cluster agent restarted:
     * the pod deleted, its replacement, and the time from the delete to the
     * replacement's Started.
     */
    restart: z.optional(
      z.object({
        pod: PodRef,
        replacement: PodRef,
        startedAfterSeconds: z.number().check(z.nonnegative()),
      })
    ),
    timeline: z.array(TimelineEntry),
  })
);
export type IncidentResolvedDetail = z.infer<typeof IncidentResolvedDetail>;

export const IncidentEscalatedDetail = z.lazy(() =>
  z.extend(Decision, {
    incidentId: z.optional(z.string()),
    reason: z.string(),
    /** What a person must do now, in order. */
    nextSteps: z.array(z.string()).check(z.minLength(1)),
    class: z.optional(z.enum(FAILURE_CLASSES)),
  })
);
export type IncidentEscalatedDetail = z.infer<typeof IncidentEscalatedDetail>;

/** A pod a restart request names; `uid` pins the very pod the incident saw. */
export const PodRestartTarget = z.extend(PodRef, {
  uid: z.optional(objectUid),
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
export const PodRestartRequestedDetail = z.lazy(() =>
  z.extend(Decision, {
    incidentId: z.string().check(z.minLength(1), z.maxLength(512)),
    /** The image the incident failed to pull: only pods waiting on it restart. */
    image: z.optional(imageReference),
    pods: z
      .array(PodRestartTarget)
      .check(z.minLength(1), z.maxLength(MAX_PODS_PER_REQUEST)),
    after: z.enum(['prune', 'rollout']),
    /** The per-incident maximum: pods beyond it (in order) are left alone. */
    maxPods: z.int().check(z.gte(1), z.lte(1000)),
    requestedAt: isoTime,
  })
);
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
export const PodRestartedDetail = z.lazy(() =>
  z.object({
    cluster: clusterName,
    node: NodeRef,
    incidentId: z.string().check(z.minLength(1), z.maxLength(512)),
    pod: z.extend(PodRef, { uid: objectUid }),
    owner: z.object({
      kind: z.enum(RESTARTABLE_OWNER_KINDS),
      name: objectName,
    }),
    image: z.optional(imageReference),
    deletedAt: isoTime,
  })
);
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
export const PodRestartSkippedDetail = z.lazy(() =>
  z.object({
    cluster: clusterName,
    node: NodeRef,
    incidentId: z.string().check(z.minLength(1), z.maxLength(512)),
    pod: PodRestartTarget,
    reason: z.enum(POD_RESTART_SKIP_REASONS),
    /** A sentence on-call can read. */
    why: z.string().check(z.minLength(1), z.maxLength(1024)),
    image: z.optional(imageReference),
    /**
     * Carried over from the request, so a dry-run's or a replay's skip joins
     * the incident of its own scope.
     */
    dryRun: z.optional(z.boolean()),
    replayName: z.optional(z.string().check(z.maxLength(64))),
  })
);
export type PodRestartSkippedDetail = z.infer<typeof PodRestartSkippedDetail>;

/**
 * `EC2 Command Invocation Status-change Notification` from aws.ssm. The
 * event carries no output: the handler reads it with GetCommandInvocation.
 */
export const SsmCommandInvocationDetail = z.lazy(() =>
  z.object({
    'command-id': z.string().check(z.minLength(1), z.maxLength(64)),
    'document-name': z.string().check(z.minLength(1), z.maxLength(128)),
    'instance-id': instanceId,
    'requested-date-time': z.optional(z.string()),
    status: z.string().check(z.minLength(1), z.maxLength(32)),
  })
);
export type SsmCommandInvocationDetail = z.infer<
  typeof SsmCommandInvocationDetail
>;

/**
 * The EventBridge envelope as rules deliver it. `account` is optional: moto
 * leaves it out, and nothing here depends on it.
 */
export const Envelope = z.object({
  version: z.optional(z.string()),
  id: z.string().check(z.minLength(1)),
  'detail-type': z.string(),
  source: z.string(),
  account: z.optional(z.string()),
  time: z.string(),
  region: z.optional(z.string()),
  resources: z._default(z.array(z.string()), []),
  'replay-name': z.optional(z.string()),
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
export const envelopeOf = <T extends z.core.$ZodType>(detail: T) =>
  z.extend(Envelope, { detail });
