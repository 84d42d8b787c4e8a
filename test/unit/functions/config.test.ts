import { afterEach, describe, expect, it } from 'vitest';
import { nonNegative } from '../../../functions/_shared/config.ts';

const NAME = 'PULLMEDIC_TEST_SECONDS';

describe('Function: nonNegative', () => {
  afterEach(() => {
    delete process.env[NAME];
  });

  it('reads the number, and takes the fallback when unset or empty', () => {
    // Act
    const unset = nonNegative(NAME, 30);
    process.env[NAME] = '';
    const empty = nonNegative(NAME, 30);
    process.env[NAME] = '0';
    const zero = nonNegative(NAME, 30);
    process.env[NAME] = '2.5';
    const fraction = nonNegative(NAME, 30);

    // Assess
    expect([unset, empty, zero, fraction]).toEqual([30, 30, 0, 2.5]);
  });

  it.each(['-1', 'soon', 'Infinity'])(
    'refuses %s with the name and the value',
    (raw) => {
      // Prepare
      process.env[NAME] = raw;

      // Act
      const read = () => nonNegative(NAME, 30);

      // Assess
      expect(read).toThrow(`${NAME} must be a number >= 0, got "${raw}"`);
    }
  );
});
