import type { BusDetail } from '../events/contracts.ts';
import type { FailureClass } from '../events/failure-classes.ts';
import type {
  NodeRef,
  PodRef,
  TimelineEntry,
  VolumeRollRequestedDetail,
  VolumeRollStartedDetail,
} from '../events/schemas.ts';
import type { IncidentStep } from './incident-steps.ts';

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

/**
 * The prune of an incident: its intent, written before SendCommand, and
 * then the command. The intent id travels in the command's Comment, so a
 * retry finds a command the first try sent but did not record.
 */
export interface PruneIntent {
  intentId: string;
  instanceId: string;
  amiFamily: AmiFamily;
  documentName: string;
  claimedAt: string;
  commandId?: string;
  sentAt?: string;
  /** Looks at a result that had no result line (a prune that never ran). */
  looks?: number;
}

/** How far roll-volume got with the incident's roll. */
export interface RollProgress {
  /** The request being carried out (what a person would do by hand). */
  request: VolumeRollRequestedDetail;
  /** The node group's lock, once taken. */
  groupKey?: string;
  /** The hour's budget, once counted. */
  counted?: boolean;
  launchTemplate?: { id: string; oldVersion: number; newVersion?: number };
  rollout?: {
    kind: 'eks-nodegroup-update' | 'asg-instance-refresh';
    id: string;
  };
  /** What was announced when the rollout started: the reconciler watches from it. */
  started?: VolumeRollStartedDetail;
  /** Looks at the rollout so far. */
  looks?: number;
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
  /**
   * The other pods of the node whose pulls failed with the same cause
   * while the incident was open (at most MAX_PODS_PER_REQUEST): once the
   * node has room, they are restarted with the incident's own pod.
   */
  pods?: PodRef[];
  image?: string;
  /** Where the incident stands (core/incident-steps.ts). */
  step: IncidentStep;
  /** Who moved it there: the EventBridge id of the request (or the reconciler's mark). */
  stepBy?: string;
  /** When the reconciler looks if nothing moved it; unset when nothing is awaited from pullmedic. */
  due?: string;
  prune?: PruneIntent;
  roll?: RollProgress;
  /** Events the reconciler decided and has not yet published (an outbox). */
  outbox?: Emitted[];
  resolvedAt?: string;
  timeline: TimelineEntry[];
}

export type OpenResult =
  | { outcome: 'opened'; incident: IncidentRecord }
  | { outcome: 'joined'; incident: IncidentRecord }
  /** The event predates the resolution of the node's last incident. */
  | { outcome: 'stale'; incident: IncidentRecord };

/** One move of an incident to a next step (core/incident-steps.ts). */
export interface Move {
  to: IncidentStep;
  /** Who moves it: the EventBridge id of the request being handled. */
  by: string;
  /** When the reconciler looks next; null: nothing awaited from pullmedic. */
  due: string | null;
  /** Replaces the prune state. */
  prune?: PruneIntent;
  /** Replaces the roll state. */
  roll?: RollProgress;
  /** Appended to the timeline in the same write. */
  entry?: TimelineEntry;
  /** Events decided and not yet published (the reconciler's outbox). */
  outbox?: Emitted[];
}

export type Advance =
  /** This write moved the incident. */
  | { outcome: 'moved'; incident: IncidentRecord }
  /**
   * `by` had moved it already (this step or a later one): a retry of the
   * same request, which carries on from what the record holds.
   */
  | { outcome: 'mine'; incident: IncidentRecord }
  /** Another request holds the step, the incident is not at a step that leads there, or it was replaced. */
  | { outcome: 'refused'; incident: IncidentRecord | undefined };

export interface IncidentStore {
  get(key: IncidentKey): Promise<IncidentRecord | undefined>;
  /**
   * Opens a new incident unless one is open (then joins it) or the event is
   * older than the last one's resolution (stale). Atomic.
   */
  openOrJoin(candidate: IncidentRecord, eventTime: string): Promise<OpenResult>;
  /**
   * Moves the incident to `move.to` when it stands at a step that leads
   * there, setting the deadline, the prune or roll state and a timeline
   * entry in the same conditional write. Atomic: of two requests, one moves
   * it; the same request again gets `mine`.
   */
  advance(key: IncidentKey, incidentId: string, move: Move): Promise<Advance>;
  /**
   * Records progress within the step `by` holds (a template version made,
   * a rollout started, a look at it) and pushes the deadline; false when
   * `by` no longer holds the step.
   */
  progress(
    key: IncidentKey,
    incidentId: string,
    by: string,
    patch: {
      prune?: PruneIntent;
      roll?: RollProgress;
      due?: string | null;
      outbox?: Emitted[] | null;
    }
  ): Promise<boolean>;
  /** Points the prune's intent id at the incident (written with the claim). */
  pointIntent(
    key: IncidentKey,
    incidentId: string,
    intentId: string
  ): Promise<void>;
  /** Points a command id at the incident (written once the command is known). */
  pointCommand(
    key: IncidentKey,
    incidentId: string,
    commandId: string
  ): Promise<void>;
  findByCommand(commandId: string): Promise<IncidentRecord | undefined>;
  findByIntent(intentId: string): Promise<IncidentRecord | undefined>;
  /**
   * Adds a step to the incident's timeline, once per event and step,
   * unless a newer incident replaced it or the timeline is full. `current`
   * is the incident as the caller read it just now, which spares a read
   * (the write itself still checks the incident id).
   */
  appendTimeline(
    key: IncidentKey,
    incidentId: string,
    entry: TimelineEntry,
    current?: IncidentRecord
  ): Promise<void>;
  /**
   * Adds a pod to the incident's other pods, unless it is there already,
   * the incident was replaced, or it holds MAX_PODS_PER_REQUEST of them.
   */
  notePod(key: IncidentKey, incidentId: string, pod: PodRef): Promise<void>;
  /** Resolves an open incident; false when it was not open. Atomic. */
  resolve(
    key: IncidentKey,
    incidentId: string,
    at: string,
    entry: TimelineEntry
  ): Promise<boolean>;
  /**
   * Live incidents whose deadline passed by `now`, earliest first: a query
   * of the sparse index of open incidents, never a scan.
   */
  due(now: string, limit: number): Promise<IncidentRecord[]>;
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
  /**
   * Counts `holder`'s roll in `now`'s hour; refused when `limit` others
   * were already counted. Counting the same holder again counts nothing.
   */
  countRoll(
    now: Date,
    limit: number,
    holder: string
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
  /**
   * Sends the prune; `comment` carries the intent id (SendCommand has no
   * idempotency token, so the intent is how a retry finds it).
   */
  sendPrune(
    instanceId: string,
    documentName: string,
    parameters: Record<string, string[]>,
    comment: string
  ): Promise<string>;
  /** The command a retry is looking for: sent to the instance with the intent id in its Comment. */
  findPrune(instanceId: string, intentId: string): Promise<string | undefined>;
  /** The Comment a command was sent with, for a status that arrives before its pointer. */
  commentOf(commandId: string): Promise<string | undefined>;
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

/** One container of a live pod: its image and, while it waits, why. */
export interface LiveContainer {
  name: string;
  /** An init container (spec.initContainers). */
  init: boolean;
  /** The image the spec asks for. */
  image: string;
  /** state.waiting of its status, when it is waiting. */
  waiting?: { reason: string; message?: string };
}

/** What the cluster agent reads of a pod, as the API server has it now. */
export interface LivePod {
  namespace: string;
  name: string;
  uid: string;
  /** spec.nodeName: unset until the scheduler binds it. */
  nodeName?: string;
  /** Set once the pod is being deleted. */
  deletionTimestamp?: string;
  /** metadata.ownerReferences. */
  owners: {
    apiVersion: string;
    kind: string;
    name: string;
    controller: boolean;
  }[];
  containers: LiveContainer[];
}

/** The parts of a Namespace that say whether it opted out. */
export interface LiveNamespace {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * The Kubernetes API as the cluster agent uses it: its RBAC allows get,
 * list and delete on pods and get on namespaces, nothing else. Failures
 * are ClusterCallError with the HTTP status.
 */
export interface ClusterPods {
  getPod(namespace: string, name: string): Promise<LivePod>;
  getNamespace(name: string): Promise<LiveNamespace>;
  /**
   * Deletes the pod only while its uid is `uid` (DeleteOptions
   * preconditions), with its own grace period, never forced.
   */
  deletePod(namespace: string, name: string, uid: string): Promise<void>;
  /** Every pod not finished (phase neither Succeeded nor Failed), all namespaces. */
  listPods(signal?: AbortSignal): Promise<LivePod[]>;
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
  /**
   * Creates a version holding exactly `data`; returns its number. The same
   * `clientToken` again returns the version it made (EC2's idempotency).
   */
  createVersion(
    id: string,
    sourceVersion: number,
    data: LaunchTemplateData,
    description: string,
    clientToken: string
  ): Promise<number>;
  /**
   * A version newer than `afterVersion` whose description carries `mark`:
   * what a retry made before it could record it.
   */
  findVersion(
    id: string,
    afterVersion: number,
    mark: string
  ): Promise<number | undefined>;
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
  /**
   * UpdateNodegroupVersion to a pinned template version; returns the update
   * id. The same `clientRequestToken` again returns the same update.
   */
  updateManagedNodegroup(
    cluster: string,
    nodegroup: string,
    launchTemplate: { id: string; version: number },
    clientRequestToken: string
  ): Promise<string>;
  /**
   * Starts an instance refresh to the version as the group's desired
   * configuration, or returns the refresh to it already under way (the API
   * has no idempotency token). `autoRollback` is asked for where Auto
   * Scaling can roll back; the answer says whether it was set.
   */
  refreshAutoScalingGroup(
    group: string,
    launchTemplate: { id: string; version: number },
    options: { autoRollback: boolean }
  ): Promise<{ id: string; autoRollback: boolean }>;
}

/**
 * One event to put on the bus: a union discriminated by detail-type, so a
 * detail is checked against its own contract where it is made.
 *
 * @example
 * ```ts
 * const e: Emitted = { detailType: DETAIL_TYPES.incidentOpened, detail: opened };
 * ```
 */
export type Emitted = BusDetail;

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
