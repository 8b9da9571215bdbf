/**
 * How far apart the producer's requests go, by load. Each produce request costs the broker and the
 * consumer's fetches about as much as its records do, so under sustained load fewer, larger requests
 * buy CPU everywhere; at low load every request goes at once (a burst's records still share one
 * when they arrive in one event-loop turn). The load is the arrival rate over the last full second.
 */
export interface SendPacingOptions {
  /** Least time between two requests below the loaded rate. */
  minSendIntervalMs: number;
  /** Least time between two requests at or above it (adds at most this much latency). */
  loadedSendIntervalMs: number;
  /** Records per second (arrivals over the last full second) from which the producer counts as loaded. */
  loadedAboveRecordsPerSecond: number;
}

export class SendPacing {
  private windowStartMs = -Infinity;
  private inWindow = 0;
  private lastRate = 0;

  constructor(private readonly o: SendPacingOptions) {}

  /** One record arrived. */
  arrived(nowMs: number): void {
    this.roll(nowMs);
    this.inWindow++;
  }

  /** The arrival rate the pacing goes by: records per second over the last full second (0 after a silent one). */
  ratePerSecond(nowMs: number): number {
    this.roll(nowMs);
    return this.lastRate;
  }

  intervalMs(nowMs: number): number {
    return this.ratePerSecond(nowMs) >= this.o.loadedAboveRecordsPerSecond
      ? this.o.loadedSendIntervalMs
      : this.o.minSendIntervalMs;
  }

  private roll(nowMs: number): void {
    const elapsed = nowMs - this.windowStartMs;
    if (elapsed < 1000) return;
    // A window that ended more than a second ago says nothing of now: the stream went quiet.
    this.lastRate = elapsed < 2000 ? (this.inWindow * 1000) / elapsed : 0;
    this.windowStartMs = nowMs;
    this.inWindow = 0;
  }
}
