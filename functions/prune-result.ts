import { handlePruneResult } from '../core/prune-result.ts';
import { SsmCommandInvocationDetail } from '../events/schemas.ts';
import { eventBridgeQueueHandler } from './_shared/eventbridge-queue-handler.ts';
import {
  incidentStore,
  nodeCommands,
  nodeDirectory,
  wire,
} from './_shared/wiring.ts';

/** The ports prune-result uses; its bundle carries only their SDK clients. */
const dependencies = wire((w) => ({
  incidents: incidentStore(w),
  nodes: nodeDirectory(w),
  commands: nodeCommands(w),
}));

/** SSM invocation status change of a prune → the decision, and a roll if needed. */
export const handler = eventBridgeQueueHandler(
  'prune-result',
  SsmCommandInvocationDetail,
  dependencies,
  (event, run, deps) => handlePruneResult(event.detail, run, deps)
);
