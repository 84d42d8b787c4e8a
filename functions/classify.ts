import { classifyKubernetesEvent } from '../core/classify-event.ts';
import { KubernetesEventInput } from '../events/exporter.ts';
import { eventBridgeQueueHandler } from './_shared/eventbridge-queue-handler.ts';

/** `Kubernetes Event` → `Image Pull Failure Classified`. */
export const handler = eventBridgeQueueHandler(
  'classify',
  KubernetesEventInput,
  (event, run, deps) =>
    classifyKubernetesEvent(event.detail, event.time, run, deps)
);
