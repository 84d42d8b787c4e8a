import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { MalformedEventError } from '../core/errors.ts';
import { incidentOrder } from '../core/notification-order.ts';
import { notify } from '../core/notify.ts';
import { DETAIL_CONTRACTS } from '../events/contracts.ts';
import { DETAIL_TYPES } from '../events/detail-types.ts';
import {
  describeIssues,
  queueFunction,
  recordKeys,
} from './_shared/eventbridge-queue-handler.ts';
import { logger, metrics } from './_shared/powertools.ts';
import { notifier, repeatNotices } from './_shared/wiring.ts';

/** The contract of each detail-type the notify rule routes here. */
const NOTIFIED: Record<string, z.ZodType> = Object.fromEntries(
  [
    DETAIL_TYPES.imagePullFailureClassified,
    DETAIL_TYPES.incidentOpened,
    DETAIL_TYPES.nodePruneRequested,
    DETAIL_TYPES.nodePruneCompleted,
    DETAIL_TYPES.volumeRollProposed,
    DETAIL_TYPES.volumeRollStarted,
    DETAIL_TYPES.volumeRollCompleted,
    DETAIL_TYPES.podRestartRequested,
    DETAIL_TYPES.podRestarted,
    DETAIL_TYPES.podRestartSkipped,
    DETAIL_TYPES.incidentResolved,
    DETAIL_TYPES.incidentEscalated,
  ].map((type) => [type, DETAIL_CONTRACTS[type].schema])
);

/** Pipeline events → one SNS message each (Slack through Chatbot, e-mail). */
export const definition = queueFunction({
  name: 'notify',
  detail: z.record(z.string(), z.unknown()),
  // The ports notify uses; its bundle carries only their SDK clients.
  ports: (w) => ({ notices: repeatNotices(w), notifier: notifier(w) }),
  useCase: async (event, _run, deps) => {
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
    const result = await notify(
      type,
      parsed.data as Record<string, unknown>,
      deps,
      // How long a repeating notice stays quiet after it was posted (the
      // repeats are counted, and the next post says how many).
      deps.config.repeatQuietSeconds
    );
    if (result.posted) {
      metrics.addMetric('NotificationsSent', MetricUnit.Count, 1);
    } else {
      // Counted, never silent: the metric, the log, and the next post.
      metrics.addMetric('NotificationsRepeated', MetricUnit.Count, 1);
      logger.info('a repeated notice was counted, not posted', {
        ...recordKeys(event),
        key: result.key,
      });
    }
    return [];
  },
  // A batch often holds several steps of one incident: posted in the
  // order they happened, the Slack thread reads from top to bottom.
  options: { inOrder: incidentOrder },
});

export const handler = definition.handler();
