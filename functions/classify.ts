import { classifyKubernetesEvent } from '../core/classify-event.ts';
import { KubernetesEventInput } from '../events/exporter.ts';
import { decidedAnew } from './_shared/decisions.ts';
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
  // Classifying reads the event and the node's instance id, and emits: a
  // redelivery classifies the same way again. A kept decision would cost
  // two writes for every event of a storm and spare nothing (the event it
  // emits again gets a new id either way).
  decisions: decidedAnew,
});

export const handler = definition.handler();
