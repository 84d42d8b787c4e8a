/**
 * EventBridge `source` and `detail-type` names of every event that crosses
 * the pullmedic bus. Stable once shipped: rules, archives and replays match
 * on them.
 *
 * @example
 * ```ts
 * if (envelope['detail-type'] === DETAIL_TYPES.kubernetesEvent) { … }
 * ```
 */
export const SOURCES = {
  /** Our in-cluster forwarder (and the local runtime's stand-in for it). */
  forwarder: 'pullmedic.kubernetes',
  /** Every decision the pipeline's functions take. */
  pipeline: 'pullmedic',
  /** AWS Systems Manager, forwarded from the default bus. */
  ssm: 'aws.ssm',
  /** A person: approvals of proposed rolls. */
  operator: 'pullmedic.operator',
  /**
   * The in-cluster agent: what it did with a restart request, and the
   * stuck pods its sweep found that no Event announced.
   */
  agent: 'pullmedic.agent',
} as const;

export const DETAIL_TYPES = {
  kubernetesEvent: 'Kubernetes Event',
  imagePullFailureClassified: 'Image Pull Failure Classified',
  incidentOpened: 'Incident Opened',
  nodePruneRequested: 'Node Prune Requested',
  nodePruneCompleted: 'Node Prune Completed',
  volumeRollRequested: 'Volume Roll Requested',
  volumeRollProposed: 'Volume Roll Proposed',
  volumeRollApproved: 'Volume Roll Approved',
  volumeRollStarted: 'Volume Roll Started',
  volumeRollCompleted: 'Volume Roll Completed',
  incidentResolved: 'Incident Resolved',
  incidentEscalated: 'Incident Escalated',
  podRestartRequested: 'Pod Restart Requested',
  podRestarted: 'Pod Restarted',
  podRestartSkipped: 'Pod Restart Skipped',
  ssmCommandInvocationStatusChange:
    'EC2 Command Invocation Status-change Notification',
} as const;

export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

/** Detail-types the pipeline itself emits (source `pullmedic`). */
export const PIPELINE_DETAIL_TYPES = [
  DETAIL_TYPES.imagePullFailureClassified,
  DETAIL_TYPES.incidentOpened,
  DETAIL_TYPES.nodePruneRequested,
  DETAIL_TYPES.nodePruneCompleted,
  DETAIL_TYPES.volumeRollRequested,
  DETAIL_TYPES.volumeRollProposed,
  DETAIL_TYPES.volumeRollStarted,
  DETAIL_TYPES.volumeRollCompleted,
  DETAIL_TYPES.incidentResolved,
  DETAIL_TYPES.incidentEscalated,
  DETAIL_TYPES.podRestartRequested,
] as const;
