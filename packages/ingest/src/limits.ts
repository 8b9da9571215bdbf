/**
 * A strict rolling-window limit (no burst credit on cold start, unlike a token bucket): Binance
 * counts connection attempts per IP over a rolling 5 minutes and bans repeat offenders.
 */
export class RollingWindowLimit {
  private readonly times: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(limit >= 1)) throw new RangeError(`limit must be >= 1, got ${limit}`);
  }

  /** How long to wait before the next attempt fits the window (0 = now). */
  delayMs(): number {
    const t = this.now();
    while (this.times.length > 0 && this.times[0]! <= t - this.windowMs) this.times.shift();
    if (this.times.length < this.limit) return 0;
    return this.times[0]! + this.windowMs - t;
  }

  /** Records an attempt made now. */
  take(): void {
    this.times.push(this.now());
  }
}
