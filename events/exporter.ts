import * as z from 'zod/mini';
import { isRecord, text } from './json.ts';
import { nodeNameOfEvent } from './kubernetes-event-facts.ts';
import { KubernetesEventDetail } from './schemas.ts';

/**
 * What to set in kubernetes-event-exporter's EventBridge receiver so that
 * pullmedic takes its events (see the README): its source and detail-type
 * are the user's to choose, these are the ones our rules match.
 */
export const EXPORTER = {
  source: 'pullmedic.kubernetes-event-exporter',
  detailType: 'Kubernetes Event (exporter)',
} as const;

/**
 * Turns the Detail kubernetes-event-exporter sends into our `Kubernetes
 * Event` detail, so the same schema (and its error messages) judges both.
 * Two shapes arrive: the whole EnhancedEvent (no `details` template in the
 * exporter's config: the core/v1 Event inline, plus `clusterName` and an
 * `involvedObject` with labels, annotations and owners), or a templated
 * map of strings (`details:`), read with the keys the README recommends.
 * Anything else is returned as is, and the schema says what is wrong.
 *
 * @example
 * ```ts
 * fromExporterDetail({ clusterName: 'prod', reason: 'Failed', involvedObject: {…}, … });
 * // { cluster: 'prod', event: { reason: 'Failed', … }, node: { name: … } }
 * ```
 */
export function fromExporterDetail(detail: unknown): unknown {
  if (!isRecord(detail) || 'event' in detail) return detail;
  if (isRecord(detail.involvedObject)) return fromEnhancedEvent(detail);
  if (typeof detail.reason === 'string') return fromTemplate(detail);
  return detail;
}

/** The whole EnhancedEvent: the Event inline, plus clusterName. */
function fromEnhancedEvent(detail: Record<string, unknown>) {
  const { clusterName, involvedObject, ...event } = detail;
  const {
    labels: _l,
    annotations: _a,
    ownerReferences: _o,
    deleted: _d,
    ...ref
  } = involvedObject as Record<string, unknown>;
  const forwarded = {
    metadata: { name: 'exporter' },
    ...event,
    involvedObject: ref,
  };
  const host = nodeNameOfEvent(forwarded);
  return {
    cluster: clusterName,
    event: forwarded,
    node: host ? { name: host } : undefined,
  };
}

/** A `details:` template of strings, with the README's keys. */
function fromTemplate(detail: Record<string, unknown>) {
  const namespace = text(detail.namespace);
  const name = text(detail.name) ?? text(detail.object);
  const reporter = text(detail.host);
  const count = Number(detail.count);
  const event = {
    metadata: { name: `${name ?? 'exporter'}.exporter`, namespace },
    involvedObject: { kind: text(detail.kind) ?? 'Pod', namespace, name },
    reason: detail.reason,
    message: text(detail.message) ?? '',
    type: text(detail.type) ?? 'Warning',
    count: Number.isInteger(count) && count > 0 ? count : undefined,
    source: reporter ? { component: 'kubelet', host: reporter } : undefined,
  };
  const host = nodeNameOfEvent(event);
  return {
    cluster: text(detail.cluster) ?? text(detail.clusterName),
    event,
    node: host ? { name: host } : undefined,
  };
}

/**
 * The `Kubernetes Event` contract, accepting the exporter's shapes too.
 *
 * @example
 * ```ts
 * const detail = KubernetesEventInput.parse(envelope.detail);
 * ```
 */
export const KubernetesEventInput = z.pipe(
  z.transform(fromExporterDetail),
  KubernetesEventDetail
);
