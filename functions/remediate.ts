import {
  type BatchIncidents,
  batchShared,
  joinWithoutCause,
} from '../core/join-incident.ts';
import { remediate } from '../core/remediate.ts';
import { ImagePullFailureClassifiedDetail } from '../events/schemas.ts';
import { decidedAnew } from './_shared/decisions.ts';
import {
  queueFunction,
  recordKeys,
} from './_shared/eventbridge-queue-handler.ts';
import { logger } from './_shared/powertools.ts';
import {
  incidentStore,
  nodeCommands,
  nodeDirectory,
} from './_shared/wiring.ts';

/**
 * disk_full classification → the node's incident and its one prune; an
 * event that names no cause → a step on its pod's incident. A BackOff can
 * overtake the Failed event that opens its incident: it looks again
 * (PULLMEDIC_LOOK_AGAIN_SECONDS, PULLMEDIC_LOOK_AGAIN_TIMES). Each look is
 * one more SQS delivery for the BackOffs of failures that never open an
 * incident (a missing tag, say), which is cheap next to a postmortem
 * without them.
 */
export const definition = queueFunction({
  name: 'remediate',
  detail: ImagePullFailureClassifiedDetail,
  // The ports remediate uses; its bundle carries only their SDK clients.
  ports: (w) => {
    const incidents = incidentStore(w);
    const batch: { incidents: BatchIncidents } = { incidents };
    return {
      incidents,
      nodes: nodeDirectory(w),
      commands: nodeCommands(w),
      // The incident store as a batch's records share it: see perBatch.
      batch,
    };
  },
  useCase: async (event, run, deps, looks) => {
    if (event.detail.causeKnown) return remediate(event.detail, run, deps);
    const { lookAgain } = deps.config;
    const verdict = await joinWithoutCause(
      event.detail,
      run,
      deps.batch,
      looks,
      lookAgain.times
    );
    if (verdict.kind === 'let-go') {
      logger.info('an event without a cause joined no incident', {
        ...recordKeys(event),
        why: verdict.why,
      });
    }
    return verdict.kind === 'look-again'
      ? { emitted: [], lookAgainInSeconds: lookAgain.seconds }
      : [];
  },
  // Every step remediate takes is a claim a redelivery finds and carries
  // on from (the incident's first entry, the prune's intent, the join's
  // entry): deciding again emits what the first decision emitted. A kept
  // decision would add two writes to every event of a storm.
  decisions: decidedAnew,
  options: {
    // A storm's repeats of a node's failure read its incident, and note
    // each pod, once a batch (core/join-incident.ts, batchShared).
    perBatch: (deps) => ({
      ...deps,
      batch: { incidents: batchShared(deps.incidents) },
    }),
  },
});

export const handler = definition.handler();
