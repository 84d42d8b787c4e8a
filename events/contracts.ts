import type { z } from 'zod';
import { DETAIL_TYPES, type DetailType, SOURCES } from './detail-types.ts';
import {
  ImagePullFailureClassifiedDetail,
  IncidentEscalatedDetail,
  IncidentOpenedDetail,
  IncidentResolvedDetail,
  KubernetesEventDetail,
  NodePruneCompletedDetail,
  NodePruneRequestedDetail,
  PodRestartedDetail,
  PodRestartRequestedDetail,
  PodRestartSkippedDetail,
  SsmCommandInvocationDetail,
  VolumeRollCompletedDetail,
  VolumeRollProposedDetail,
  VolumeRollRequestedDetail,
  VolumeRollStartedDetail,
} from './schemas.ts';

type Source = (typeof SOURCES)[keyof typeof SOURCES];

/**
 * The contract of every detail-type on the bus: the schema of its detail,
 * the source that puts it there, and any other source that may
 * (`alsoFrom`: the cluster agent's sweep writes `Kubernetes Event` too).
 *
 * @example
 * ```ts
 * DETAIL_CONTRACTS[DETAIL_TYPES.incidentOpened].schema.parse(detail);
 * ```
 */
export const DETAIL_CONTRACTS: Record<
  DetailType,
  { schema: z.ZodType; source: Source; alsoFrom?: readonly Source[] }
> = {
  [DETAIL_TYPES.kubernetesEvent]: {
    schema: KubernetesEventDetail,
    source: SOURCES.forwarder,
    alsoFrom: [SOURCES.agent],
  },
  [DETAIL_TYPES.imagePullFailureClassified]: {
    schema: ImagePullFailureClassifiedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.incidentOpened]: {
    schema: IncidentOpenedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.nodePruneRequested]: {
    schema: NodePruneRequestedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.nodePruneCompleted]: {
    schema: NodePruneCompletedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.volumeRollRequested]: {
    schema: VolumeRollRequestedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.volumeRollProposed]: {
    schema: VolumeRollProposedDetail,
    source: SOURCES.pipeline,
  },
  // An approval carries the request it approves, and who approved it.
  [DETAIL_TYPES.volumeRollApproved]: {
    schema: VolumeRollRequestedDetail,
    source: SOURCES.operator,
  },
  [DETAIL_TYPES.volumeRollStarted]: {
    schema: VolumeRollStartedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.volumeRollCompleted]: {
    schema: VolumeRollCompletedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.incidentResolved]: {
    schema: IncidentResolvedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.incidentEscalated]: {
    schema: IncidentEscalatedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.podRestartRequested]: {
    schema: PodRestartRequestedDetail,
    source: SOURCES.pipeline,
  },
  [DETAIL_TYPES.podRestarted]: {
    schema: PodRestartedDetail,
    source: SOURCES.agent,
  },
  [DETAIL_TYPES.podRestartSkipped]: {
    schema: PodRestartSkippedDetail,
    source: SOURCES.agent,
  },
  [DETAIL_TYPES.ssmCommandInvocationStatusChange]: {
    schema: SsmCommandInvocationDetail,
    source: SOURCES.ssm,
  },
};
