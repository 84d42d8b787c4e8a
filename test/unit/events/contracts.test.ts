import { describe, expect, it } from 'vitest';
import { DETAIL_CONTRACTS } from '../../../events/contracts.ts';

describe('events/contracts', () => {
  it("builds each detail-type's schema on its first parse, not at import", () => {
    // Act: what kind of schema each contract holds. A function's cold
    // start builds none of them; the first event of a detail-type builds
    // that one (bench/RESULTS.md, cold start).
    const eager = Object.entries(DETAIL_CONTRACTS)
      .filter(([, c]) => c.schema._zod.def.type !== 'lazy')
      .map(([type]) => type);

    // Assess
    expect(Object.keys(DETAIL_CONTRACTS).length).toBeGreaterThan(10);
    expect(eager).toEqual([]);
  });
});
