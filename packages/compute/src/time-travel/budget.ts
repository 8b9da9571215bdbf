/**
 * A records/s budget shared by every time-travel session of one worker: each session reserves
 * the time slot of its next chunk of records in turn, so together they never read faster than
 * the budget, whatever their number, and the live path on the same host keeps its share of
 * the CPU (replays may be slower; the live stream may not). Idle time is not saved up (no burst). Pure.
 */
export class RateBudget {
  private nextFreeMs = 0;
  constructor(
    readonly recordsPerSecond: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    if (!(recordsPerSecond > 0)) throw new Error(`recordsPerSecond must be > 0, got ${recordsPerSecond}`);
  }

  /** Reserves `records`; returns how long (ms) to wait before reading them. */
  reserve(records: number): number {
    const now = this.nowMs();
    const start = Math.max(now, this.nextFreeMs);
    this.nextFreeMs = start + (records * 1000) / this.recordsPerSecond;
    return start - now;
  }
}
