import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DETAIL_TYPES, SOURCES } from '../events/detail-types.ts';
import { isRecord } from '../events/json.ts';
import {
  instanceIdOf,
  nodeNameOfEvent,
} from '../events/kubernetes-event-facts.ts';

/** What the forwarder knows of a node from its Node informer. */
export interface NodeInfo {
  providerID?: string;
}

/** EventBridge's limit on one entry; the forwarder cuts the message to fit. */
export const MAX_ENTRY_BYTES = 256 * 1024;
const TRUNCATED_MARKER = ' …[truncated by pullmedic]';

/**
 * Turns one core/v1 Event (as the API server returns it) into the
 * `Kubernetes Event` entry pullmedic's bus expects: the event itself, the
 * cluster, and the node with its providerID and instance id when the Node
 * informer knows them. The forwarder does not judge the event: the classify
 * function validates it, and dead-letters it with the reason if it must.
 * managedFields are dropped (noise, and size).
 *
 * @example
 * ```ts
 * const entry = toPutEventsEntry(event, { cluster: 'prod', busName: 'pullmedic', nodes });
 * ```
 */
export function toPutEventsEntry(
  event: Record<string, unknown>,
  context: {
    cluster: string;
    busName: string;
    nodes: ReadonlyMap<string, NodeInfo>;
  }
): PutEventsRequestEntry {
  const { managedFields: _dropped, ...metadata } = isRecord(event.metadata)
    ? event.metadata
    : {};
  const host = nodeNameOfEvent(event);
  const info = host === undefined ? undefined : context.nodes.get(host);
  const instanceId = instanceIdOf(info);
  const detail = {
    cluster: context.cluster,
    event: { ...event, metadata },
    ...(host !== undefined
      ? {
          node: {
            name: host,
            ...(info?.providerID ? { providerID: info.providerID } : {}),
            ...(instanceId ? { instanceId } : {}),
          },
        }
      : {}),
  };
  return {
    EventBusName: context.busName,
    Source: SOURCES.forwarder,
    DetailType: DETAIL_TYPES.kubernetesEvent,
    Detail: fitDetail(detail),
    ...(instanceId ? { Resources: [instanceId] } : {}),
  };
}

/**
 * Serialises the detail, cutting the event message (the only unbounded
 * field) so the entry stays under EventBridge's 256 KB, with a marker.
 */
function fitDetail(detail: { event: Record<string, unknown> }): string {
  let json = JSON.stringify(detail);
  const budget = MAX_ENTRY_BYTES - 2048; // Source, DetailType, Resources, Time.
  const size = Buffer.byteLength(json);
  if (size <= budget || typeof detail.event.message !== 'string') return json;
  const message = detail.event.message;
  const keep = Math.max(
    0,
    message.length - (size - budget) - TRUNCATED_MARKER.length - 16
  );
  json = JSON.stringify({
    ...detail,
    event: {
      ...detail.event,
      message: message.slice(0, keep) + TRUNCATED_MARKER,
    },
  });
  return json;
}
