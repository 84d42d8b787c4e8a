import { classifyKubernetesEvent } from '../core/classify-event.ts';
import { KubernetesEventInput } from '../events/exporter.ts';
import { queueFunction } from './_shared/eventbridge-queue-handler.ts';
import { nodeDirectory } from './_shared/wiring.ts';

/** `Kubernetes Event` → `Image Pull Failure Classified`. */
export const definition = queueFunction({
  name: 'classify',
  detail: KubernetesEventInput,
  // The ports classify uses; its bundle carries only their SDK clients.
  ports: (w) => ({ nodes: nodeDirectory(w) }),
  useCase: (event, run, deps) =>
    classifyKubernetesEvent(event.detail, event.time, run, deps),
});

export const handler = definition.handler();
