import type * as z from 'zod/mini';
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

/** What the bus promises of one detail-type. */
export interface DetailContract {
  schema: z.ZodMiniType;
  source: Source;
  alsoFrom?: readonly Source[];
}

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
export const DETAIL_CONTRACTS = {
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
} as const satisfies Record<DetailType, DetailContract>;

/**
 * Every detail-type's detail, as its schema parses it (defaults filled in).
 * A mapped type, so that a table keyed by detail-type can be indexed with
 * a generic key and still call its entry with the matching detail.
 */
export type DetailMap = {
  [K in DetailType]: z.infer<(typeof DETAIL_CONTRACTS)[K]['schema']>;
};

/**
 * The detail of one detail-type, inferred from its schema.
 *
 * @example
 * ```ts
 * const opened: DetailOf<'Incident Opened'> = { incidentId: '…', … };
 * ```
 */
export type DetailOf<K extends DetailType> = DetailMap[K];

/**
 * One event on the bus, discriminated by its detail-type: narrowing on
 * `detailType` gives the detail its schema's type.
 *
 * @example
 * ```ts
 * const e: BusDetail = { detailType: 'Incident Opened', detail: opened };
 * if (e.detailType === 'Incident Opened') e.detail.incidentId;
 * ```
 */
export type BusDetail<K extends DetailType = DetailType> = {
  [P in K]: { detailType: P; detail: DetailOf<P> };
}[K];

const KNOWN = new Set<string>(Object.keys(DETAIL_CONTRACTS));

/**
 * Whether a string is one of the bus's detail-types.
 *
 * @example
 * ```ts
 * isDetailType(envelope['detail-type']); // true for 'Incident Opened'
 * ```
 */
export const isDetailType = (value: string): value is DetailType =>
  KNOWN.has(value);

/**
 * Checks a detail against its detail-type's schema: the typed event, or
 * zod's issues.
 *
 * @example
 * ```ts
 * const out = parseDetail('Incident Opened', envelope.detail);
 * if (out.success) out.data.detail.incidentId;
 * ```
 */
export function parseDetail<K extends DetailType>(
  detailType: K,
  detail: unknown
):
  | { success: true; data: BusDetail<K> }
  | { success: false; error: z.core.$ZodError } {
  const out = DETAIL_CONTRACTS[detailType].schema.safeParse(detail);
  return out.success
    ? {
        success: true,
        data: { detailType, detail: out.data } as BusDetail<K>,
      }
    : { success: false, error: out.error };
}
