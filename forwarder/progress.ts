/**
 * The resourceVersion a stream may resume from: the newest one such that
 * everything the stream received at or before it has settled (sent, given
 * up on, shed, or superseded by a newer count). Checkpointing only this
 * point is what keeps a restart from losing an event that was still queued.
 *
 * @example
 * ```ts
 * const progress = new Progress('100');
 * const t = progress.track('105');
 * progress.committed; // '100': 105 is still in flight
 * progress.settle(t);
 * progress.committed; // '105'
 * ```
 */
export class Progress {
  // Tokens in arrival order; settled ones are popped off the front.
  readonly #pending = new Map<number, { rv: string; settled: boolean }>();
  #next = 0;
  #front = 0;
  #committed: string;

  constructor(committed = '') {
    this.#committed = committed;
  }

  get committed(): string {
    return this.#committed;
  }

  /** Tokens not settled yet. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Notes something received at `rv`; settle the token once it is done. */
  track(rv: string): number {
    const token = this.#next++;
    this.#pending.set(token, { rv, settled: false });
    return token;
  }

  /** Progress with nothing to wait for (a bookmark, a list's end). */
  advance(rv: string): void {
    this.settle(this.track(rv));
  }

  settle(token: number): void {
    const entry = this.#pending.get(token);
    if (!entry) return;
    entry.settled = true;
    while (this.#front < this.#next) {
      const head = this.#pending.get(this.#front);
      if (head && !head.settled) break;
      if (head) {
        if (head.rv) this.#committed = head.rv;
        this.#pending.delete(this.#front);
      }
      this.#front += 1;
    }
  }
}
