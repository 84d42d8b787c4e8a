import { describe, expect, it } from 'vitest';
import { cut, duration, formatBytes } from '#core/words.ts';

describe('Function: cut', () => {
  it('keeps text within the maximum whole, on one line', () => {
    // Act
    const text = cut('  failed to pull\n\timage  "a"  ', 40);

    // Assess
    expect(text).toBe('failed to pull image "a"');
  });

  it('cuts with an ellipsis, the maximum counting the ellipsis', () => {
    // Act
    const text = cut('a very long message', 6);

    // Assess
    expect(text).toBe('a ver…');
    expect(Array.from(text)).toHaveLength(6);
  });

  it('counts whole characters, so an emoji is never cut in two', () => {
    // Act: each 🐳 is two UTF-16 code units.
    const text = cut('🐳🐳🐳🐳', 3);

    // Assess
    expect(text).toBe('🐳🐳…');
    // No lone surrogate: in a u-mode regex a whole emoji is one code point.
    expect(text).not.toMatch(/[\uD800-\uDFFF]/u);
  });

  it('keeps text of exactly the maximum whole', () => {
    // Act
    const text = cut('abcdef', 6);

    // Assess
    expect(text).toBe('abcdef');
  });
});

describe('Function: duration', () => {
  it('returns seconds only when under a minute', () => {
    // Act
    const texts = [0, 59].map((s) => duration(s));

    // Assess
    expect(texts).toEqual(['0s', '59s']);
  });

  it('returns minutes and seconds when under an hour', () => {
    // Act
    const texts = [95, 59.6, 3599].map((s) => duration(s));

    // Assess
    expect(texts).toEqual(['1m 35s', '1m 0s', '59m 59s']);
  });

  it('returns hours, minutes and seconds when an hour or more', () => {
    // Act
    const texts = [3600, 3725, 90_061].map((s) => duration(s));

    // Assess
    expect(texts).toEqual(['1h 0m 0s', '1h 2m 5s', '25h 1m 1s']);
  });
});

describe('Function: formatBytes', () => {
  it('returns whole bytes when the value is under 1 KiB', () => {
    // Act
    const texts = [0, 1023].map(formatBytes);

    // Assess
    expect(texts).toEqual(['0 B', '1023 B']);
  });

  it('returns one decimal in the largest unit that keeps the value at or above 1', () => {
    // Act
    const texts = [1536, 5 * 1024 ** 2, 16 * 1024 ** 3, 2 * 1024 ** 4].map(
      formatBytes
    );

    // Assess
    expect(texts).toEqual(['1.5 KiB', '5.0 MiB', '16.0 GiB', '2.0 TiB']);
  });

  it('returns TiB when the value is beyond the largest unit', () => {
    // Act
    const text = formatBytes(3 * 1024 ** 5);

    // Assess
    expect(text).toBe('3072.0 TiB');
  });

  it('returns a minus sign when the value is negative', () => {
    // Act
    const texts = [-512, -1.5 * 1024 ** 3].map(formatBytes);

    // Assess
    expect(texts).toEqual(['-512 B', '-1.5 GiB']);
  });
});
