import type { Clock } from '#core/ports.ts';

/**
 * A Clock frozen at one instant, moved only by the test.
 *
 * @example
 * ```ts
 * const clock = new FixedClock('2026-11-20T09:41:00Z');
 * clock.advance(60);
 * ```
 */
export class FixedClock implements Clock {
  #at: number;
  readonly #initial: number;
  calls = 0;

  constructor(at: string | Date = '2026-11-20T09:41:00.000Z') {
    this.#at = new Date(at).getTime();
    this.#initial = this.#at;
  }

  set(at: string | Date): void {
    this.#at = new Date(at).getTime();
  }

  /** Moves the clock forward by `seconds`. */
  advance(seconds: number): void {
    this.#at += seconds * 1000;
  }

  reset(): void {
    this.#at = this.#initial;
    this.calls = 0;
  }

  now(): Date {
    this.calls++;
    return new Date(this.#at);
  }
}
