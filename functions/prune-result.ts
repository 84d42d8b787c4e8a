import { handlePruneResult } from '../core/prune-result.ts';
import { SsmCommandInvocationDetail } from '../events/schemas.ts';
import { eventBridgeQueueHandler } from './_shared/eventbridge-queue-handler.ts';

/** SSM invocation status change of a prune → the decision, and a roll if needed. */
export const handler = eventBridgeQueueHandler(
  'prune-result',
  SsmCommandInvocationDetail,
  (event, run, deps) => handlePruneResult(event.detail, run, deps)
);
