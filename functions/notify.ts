import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { MalformedEventError } from '../core/errors.ts';
import { renderNotification } from '../core/notification.ts';
import { incidentOrder } from '../core/notification-order.ts';
import { DETAIL_TYPES } from '../events/detail-types.ts';
import {
  ImagePullFailureClassifiedDetail,
  IncidentEscalatedDetail,
  IncidentOpenedDetail,
  IncidentResolvedDetail,
  NodePruneCompletedDetail,
  NodePruneRequestedDetail,
  VolumeRollCompletedDetail,
  VolumeRollProposedDetail,
  VolumeRollStartedDetail,
} from '../events/schemas.ts';
import {
  describeIssues,
  eventBridgeQueueHandler,
} from './_shared/eventbridge-queue-handler.ts';
import { metrics } from './_shared/powertools.ts';

/** The contract of each detail-type the notify rule routes here. */
const NOTIFIED: Record<string, z.ZodType> = {
  [DETAIL_TYPES.imagePullFailureClassified]: ImagePullFailureClassifiedDetail,
  [DETAIL_TYPES.incidentOpened]: IncidentOpenedDetail,
  [DETAIL_TYPES.nodePruneRequested]: NodePruneRequestedDetail,
  [DETAIL_TYPES.nodePruneCompleted]: NodePruneCompletedDetail,
  [DETAIL_TYPES.volumeRollProposed]: VolumeRollProposedDetail,
  [DETAIL_TYPES.volumeRollStarted]: VolumeRollStartedDetail,
  [DETAIL_TYPES.volumeRollCompleted]: VolumeRollCompletedDetail,
  [DETAIL_TYPES.incidentResolved]: IncidentResolvedDetail,
  [DETAIL_TYPES.incidentEscalated]: IncidentEscalatedDetail,
};

/** Pipeline events → one SNS message each (Slack through Chatbot, e-mail). */
export const handler = eventBridgeQueueHandler(
  'notify',
  z.record(z.string(), z.unknown()),
  async (event, _run, deps) => {
    const type = event['detail-type'];
    const schema = NOTIFIED[type];
    if (!schema) {
      throw new MalformedEventError(
        `notify does not handle detail-type "${type}"`
      );
    }
    const parsed = schema.safeParse(event.detail);
    if (!parsed.success) {
      throw new MalformedEventError(
        `${type} does not match its contract: ${describeIssues(parsed.error.issues)}`
      );
    }
    await deps.notifier.publish(
      renderNotification(type, parsed.data as Record<string, unknown>)
    );
    metrics.addMetric('NotificationsSent', MetricUnit.Count, 1);
    return [];
  },
  // A batch often holds several steps of one incident: posted in the
  // order they happened, the Slack thread reads from top to bottom.
  { inOrder: incidentOrder }
);
