import type { DetailType } from '../events/detail-types.ts';
import type { NodeRef, PodRef, TimelineEntry } from '../events/schemas.ts';
import type { FailureClass } from './classification/types.ts';

// The ports through which the core reaches the outside. Adapters in
// adapters/aws implement them against the AWS SDK; tests use the in-memory
// fakes in test/fakes.

/** The wall clock, injectable so tests can freeze time. */
export interface Clock {
  now(): Date;
}

/**
 * The operator's switch, an SSM parameter: `live` acts, `dry-run` decides
 * and reports without acting, `off` is the kill switch (nothing at all).
 */
export type ControlMode = 'live' | 'dry-run' | 'off';
export interface ControlSwitch {
  mode(): Promise<ControlMode>;
}

/** Where an incident lives: one per cluster and node, per scope. */
export interface IncidentKey {
  cluster: string;
  node: string;
  /** `live`, or `replay:<name>` so a postmortem never mixes with live state. */
  scope: string;
}

export interface IncidentRecord {
  key: IncidentKey;
  incidentId: string;
  status: 'open' | 'resolved';
  openedAt: string;
  node: NodeRef;
  class: FailureClass;
  evidence: string | null;
  /**
   * What pullmedic does about it: prune, or only escalate (CRI-O's
   * /var/tmp). Unset on incidents stored before it was recorded: prune.
   */
  remedy?: 'prune' | 'escalate';
  pod?: PodRef;
  image?: string;
  pruneRequestedAt?: string;
  pruneCommandId?: string;
  rollRequestedAt?: string;
  rollStartedAt?: string;
  resolvedAt?: string;
  timeline: TimelineEntry[];
}

export type OpenResult =
  | { outcome: 'opened'; incident: IncidentRecord }
  | { outcome: 'joined'; incident: IncidentRecord }
  /** The event predates the resolution of the node's last incident. */
  | { outcome: 'stale'; incident: IncidentRecord };

export interface IncidentStore {
  get(key: IncidentKey): Promise<IncidentRecord | undefined>;
  /**
   * Opens a new incident unless one is open (then joins it) or the event is
   * older than the last one's resolution (stale). Atomic.
   */
  openOrJoin(candidate: IncidentRecord, eventTime: string): Promise<OpenResult>;
  /** Claims the incident's one prune; false when already claimed. Atomic. */
  claimPrune(
    key: IncidentKey,
    incidentId: string,
    at: string
  ): Promise<boolean>;
  /** Claims the incident's one roll request; false when already claimed. */
  claimRoll(key: IncidentKey, incidentId: string, at: string): Promise<boolean>;
  /** Claims the incident's one roll start (a template version and a rollout). */
  claimRollStart(
    key: IncidentKey,
    incidentId: string,
    at: string
  ): Promise<boolean>;
  /** Records the prune command and a pointer from its id to the incident. */
  recordPruneCommand(
    key: IncidentKey,
    incidentId: string,
    commandId: string
  ): Promise<void>;
  findByCommand(commandId: string): Promise<IncidentRecord | undefined>;
  appendTimeline(
    key: IncidentKey,
    incidentId: string,
    entry: TimelineEntry
  ): Promise<void>;
  /** Resolves an open incident; false when it was not open. Atomic. */
  resolve(
    key: IncidentKey,
    incidentId: string,
    at: string,
    entry: TimelineEntry
  ): Promise<boolean>;
}

/**
 * Guardrails on rolls: one per node group within the cooldown, and a
 * fleet-wide budget per clock hour.
 */
export interface RollLocks {
  acquire(
    groupKey: string,
    holder: string,
    now: Date,
    cooldownSeconds: number
  ): Promise<{ acquired: true } | { acquired: false; heldBy: string }>;
  /**
   * Lets go of a lock `holder` took, so the group's next incident may roll:
   * a roll that did not start must not hold the group for the cooldown.
   */
  release(groupKey: string, holder: string, now: Date): Promise<void>;
  /** Counts one roll in `now`'s hour; refused when `limit` were already counted. */
  countRoll(
    now: Date,
    limit: number
  ): Promise<{ allowed: true } | { allowed: false; count: number }>;
}

/** One command invocation on one instance, as SSM reports it. */
export interface CommandInvocation {
  status: string;
  statusDetails?: string;
  responseCode?: number;
  stdout: string;
  stderr: string;
}

/** SSM Run Command, for our prune documents only. */
export interface NodeCommands {
  /**
   * The prune document for a node of this AMI family: Bottlerocket has no
   * shell on the host and needs its own. Undefined when none is deployed.
   */
  documentFor(amiFamily: AmiFamily): string | undefined;
  sendPrune(
    instanceId: string,
    documentName: string,
    parameters: Record<string, string[]>,
    comment: string
  ): Promise<string>;
  getInvocation(
    commandId: string,
    instanceId: string
  ): Promise<CommandInvocation>;
}

export type AmiFamily = 'al2' | 'al2023' | 'bottlerocket' | 'unknown';

export interface LaunchTemplateRef {
  id: string;
  name?: string;
  version: number;
}

/** Where a node came from: what launched it and what owns its group. */
export interface NodeOrigin {
  instanceId: string;
  amiFamily: AmiFamily;
  rootDeviceName: string;
  /**
   * The instance's attached EBS volumes: device name, size and volume id
   * (by which a prune report's volume is found).
   */
  volumes: { deviceName: string; sizeGiB: number; volumeId?: string }[];
  launchTemplate?: LaunchTemplateRef;
  autoScalingGroup?: string;
  eksNodegroup?: {
    cluster: string;
    name: string;
    launchTemplate?: LaunchTemplateRef;
    diskSizeGiB?: number;
  };
  karpenterNodePool?: string;
  /** The `pullmedic.io/managed-by` tag of the template or instance (e.g. terraform). */
  managedBy?: string;
  /**
   * The template carries `pullmedic.io/allow-roll=true`: its owner opted in
   * (the IAM policy of roll-volume requires the same tag).
   */
  rollOptIn?: boolean;
}

export interface NodeDirectory {
  /** The instance behind a node name (its private DNS name), or undefined. */
  instanceIdOf(nodeName: string): Promise<string | undefined>;
  /** The AMI family of an instance, from its image; 'unknown' when EC2 does not say. */
  amiFamilyOf(instanceId: string): Promise<AmiFamily>;
  origin(instanceId: string): Promise<NodeOrigin>;
}

/** The subset of EC2 EbsBlockDevice a volume roll reads and writes. */
export interface EbsSettings {
  VolumeSize?: number;
  VolumeType?: string;
  Iops?: number;
  Throughput?: number;
  Encrypted?: boolean;
  KmsKeyId?: string;
  DeleteOnTermination?: boolean;
  SnapshotId?: string;
  [field: string]: unknown;
}

export interface BlockDeviceMapping {
  DeviceName?: string;
  Ebs?: EbsSettings;
  VirtualName?: string;
  NoDevice?: string;
  [field: string]: unknown;
}

/** LaunchTemplateData: kept whole, only the mappings are looked into. */
export interface LaunchTemplateData {
  BlockDeviceMappings?: BlockDeviceMapping[];
  [field: string]: unknown;
}

export interface LaunchTemplates {
  getVersion(id: string, version: number): Promise<LaunchTemplateData>;
  /** Creates a version holding exactly `data`; returns its number. */
  createVersion(
    id: string,
    sourceVersion: number,
    data: LaunchTemplateData,
    description: string
  ): Promise<number>;
}

/** Where a rollout stands, as EKS or Auto Scaling reports it. */
export interface RolloutStatus {
  status: string;
  done: boolean;
  succeeded: boolean;
  errors: string[];
}

export interface Rollouts {
  /** DescribeUpdate (EKS) or DescribeInstanceRefreshes (Auto Scaling). */
  describeRollout(
    rollout: {
      kind: 'eks-nodegroup-update' | 'asg-instance-refresh';
      id: string;
    },
    where: { cluster: string; group: string }
  ): Promise<RolloutStatus>;
  /** UpdateNodegroupVersion to a pinned template version; returns the update id. */
  updateManagedNodegroup(
    cluster: string,
    nodegroup: string,
    launchTemplate: { id: string; version: number }
  ): Promise<string>;
  /** Points the group at the version and starts an instance refresh. */
  refreshAutoScalingGroup(
    group: string,
    launchTemplate: { id: string; version: number }
  ): Promise<string>;
}

/** One event to put on the bus. */
export interface Emitted {
  detailType: DetailType;
  detail: Record<string, unknown>;
}

export interface EventPublisher {
  publish(events: Emitted[]): Promise<void>;
}

export interface Notification {
  subject: string;
  /** AWS Chatbot custom notification (Slack). */
  chatbot: Record<string, unknown>;
  /** Plain text for e-mail and SMS. */
  text: string;
  attributes: Record<string, string>;
}

export interface Notifier {
  publish(notification: Notification): Promise<string>;
}

/** A message that cannot be processed, kept with the reason. */
export interface DeadLetters {
  send(body: string, reason: string, origin: string): Promise<void>;
}

/** What the notice log says of one notice. */
export type NoticeVerdict =
  /** Post it; `repeats` were counted and not posted since the last one. */
  | { post: true; repeats: number }
  /** A repeat within the quiet period: counted, not posted. */
  | { post: false };

/** Where repeats of a notice are counted (the pullmedic table). */
export interface RepeatNotices {
  /** Posts the first notice of a quiet period; counts the rest. Atomic. */
  record(key: string, now: Date, quietSeconds: number): Promise<NoticeVerdict>;
  /** Gives the quiet period back, when the notice could not be posted. */
  forget(key: string): Promise<void>;
}
