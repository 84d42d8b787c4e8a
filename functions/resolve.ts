import { resolveIncident } from '../core/resolve.ts';
import { KubernetesEventDetail } from '../events/schemas.ts';
import { eventBridgeQueueHandler } from './_shared/eventbridge-queue-handler.ts';

/** Normal Pulled/Started on a node with an open incident → resolved, with MTTR. */
export const handler = eventBridgeQueueHandler(
  'resolve',
  KubernetesEventDetail,
  (event, run, deps) => resolveIncident(event.detail, event.time, run, deps)
);
