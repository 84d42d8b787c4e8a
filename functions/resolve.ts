import { resolveIncident } from '../core/resolve.ts';
import { KubernetesEventInput } from '../events/exporter.ts';
import { eventBridgeQueueHandler } from './_shared/eventbridge-queue-handler.ts';

/** Normal Pulled/Started on a node with an open incident → resolved, with MTTR. */
export const handler = eventBridgeQueueHandler(
  'resolve',
  KubernetesEventInput,
  (event, run, deps) => resolveIncident(event.detail, event.time, run, deps)
);
