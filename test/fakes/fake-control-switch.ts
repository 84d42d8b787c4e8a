import type { ControlMode, ControlSwitch } from '#core/ports.ts';

/**
 * A hand-written ControlSwitch: answers the mode the test set.
 *
 * @example
 * ```ts
 * const control = new FakeControlSwitch('off');
 * ```
 */
export class FakeControlSwitch implements ControlSwitch {
  current: ControlMode;
  readonly #initial: ControlMode;
  #error: Error | undefined;
  calls = 0;

  constructor(mode: ControlMode = 'live') {
    this.current = mode;
    this.#initial = mode;
  }

  set(mode: ControlMode): void {
    this.current = mode;
  }

  failWith(error: Error): void {
    this.#error = error;
  }

  reset(): void {
    this.current = this.#initial;
    this.#error = undefined;
    this.calls = 0;
  }

  async mode(): Promise<ControlMode> {
    this.calls++;
    if (this.#error) throw this.#error;
    return this.current;
  }
}
