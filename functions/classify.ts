import { classifyKubernetesEvent } from '../core/classify-event.ts';
import { KubernetesEventInput } from '../events/exporter.ts';
import { eventBridgeQueueHandler } from './_shared/eventbridge-queue-handler.ts';
import { nodeDirectory, wire } from './_shared/wiring.ts';

/** The ports classify uses; its bundle carries only their SDK clients. */
const dependencies = wire((w) => ({
  nodes: nodeDirectory(w),
}));

/** `Kubernetes Event` → `Image Pull Failure Classified`. */
export const handler = eventBridgeQueueHandler(
  'classify',
  KubernetesEventInput,
  dependencies,
  (event, run, deps) =>
    classifyKubernetesEvent(event.detail, event.time, run, deps)
);
