import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { decidedAnew } from '#functions/_shared/decisions.ts';
import { queueFunction } from '#functions/_shared/eventbridge-queue-handler.ts';

describe('Function: queueFunction', () => {
  it('refuses reads shared by a batch whose records are handled one after the other', () => {
    // Prepare
    const definition = queueFunction({
      name: 'resolve',
      detail: z.object({}),
      ports: () => ({}),
      useCase: async () => [],
      decisions: decidedAnew,
      options: {
        inOrder: () => 0,
        perBatch: (deps) => deps,
      },
    });

    // Act & Assess
    expect(() => definition.handler()).toThrow(
      'resolve: perBatch shares reads among records handled at once, and inOrder handles them one after the other'
    );
  });
});
