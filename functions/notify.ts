import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod/mini';
import { MalformedEventError } from '../core/errors.ts';
import { isNotified } from '../core/notification.ts';
import { incidentOrder } from '../core/notification-order.ts';
import { notify } from '../core/notify.ts';
import { isDetailType, parseDetail } from '../events/contracts.ts';
import {
  describeIssues,
  queueFunction,
  recordKeys,
} from './_shared/eventbridge-queue-handler.ts';
import { keptDecisions } from './_shared/kept-decisions.ts';
import { logger, metrics } from './_shared/powertools.ts';
import { notifier, repeatNotices } from './_shared/wiring.ts';

/** Pipeline events → one SNS message each (Slack through Chatbot, e-mail). */
export const definition = queueFunction({
  name: 'notify',
  detail: z.record(z.string(), z.unknown()),
  // The ports notify uses; its bundle carries only their SDK clients.
  ports: (w) => ({ notices: repeatNotices(w), notifier: notifier(w) }),
  // A message is posted once: a record that comes back after its post
  // (the invocation timed out, or SQS delivered it twice) gets the first
  // decision back.
  decisions: keptDecisions,
  useCase: async (event, _run, deps) => {
    const type = event['detail-type'];
    if (!isDetailType(type) || !isNotified(type)) {
      throw new MalformedEventError(
        `notify does not handle detail-type "${type}"`
      );
    }
    const parsed = parseDetail(type, event.detail);
    if (!parsed.success) {
      throw new MalformedEventError(
        `${type} does not match its contract: ${describeIssues(parsed.error.issues)}`
      );
    }
    const result = await notify(
      parsed.data.detailType,
      parsed.data.detail,
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
