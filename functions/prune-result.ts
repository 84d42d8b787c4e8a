import { handlePruneResult } from '../core/prune-result.ts';
import { SsmCommandInvocationDetail } from '../events/schemas.ts';
import { queueFunction } from './_shared/eventbridge-queue-handler.ts';
import { keptDecisions } from './_shared/kept-decisions.ts';
import {
  incidentStore,
  nodeCommands,
  nodeDirectory,
} from './_shared/wiring.ts';

/**
 * SSM invocation status change of a prune → the decision, and a roll if
 * needed. A result not final yet, or a prune that never ran, is looked at
 * again after a short wait (the same event, held back on the queue).
 */
export const definition = queueFunction({
  name: 'prune-result',
  detail: SsmCommandInvocationDetail,
  // The ports prune-result uses; its bundle carries only their SDK clients.
  ports: (w) => ({
    incidents: incidentStore(w),
    nodes: nodeDirectory(w),
    commands: nodeCommands(w),
  }),
  // A prune's result is judged once: a redelivery emits the same verdict
  // and roll request again instead of judging the command a second time.
  decisions: keptDecisions,
  useCase: async (event, run, deps) => {
    const outcome = await handlePruneResult(event.detail, run, deps);
    return outcome.kind === 'done'
      ? outcome.emitted
      : { emitted: [], lookAgainInSeconds: outcome.seconds };
  },
});

export const handler = definition.handler();
