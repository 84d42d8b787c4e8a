import { remediate } from '../core/remediate.ts';
import { ImagePullFailureClassifiedDetail } from '../events/schemas.ts';
import { eventBridgeQueueHandler } from './_shared/eventbridge-queue-handler.ts';

/** disk_full classification → the node's incident and its one prune. */
export const handler = eventBridgeQueueHandler(
  'remediate',
  ImagePullFailureClassifiedDetail,
  (event, run, deps) => remediate(event.detail, run, deps)
);
