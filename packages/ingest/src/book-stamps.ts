/**
 * Per symbol, what a record says about the build it belongs to and the exchange time it
 * stands for (book.proto `book_epoch`, `exchange_event_time_ms`). Pure: the clock is injected.
 */
export class BookStamps {
  private readonly epochs = new Map<string, number>();
  private readonly lastEventTimes = new Map<string, number>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  /**
   * Every diff received for `symbol`, before the sync sees it: applied, buffered, dropped from
   * a full buffer or held back alike. Exchange time, so never ahead of the exchange.
   */
  sawEvent(symbol: string, eventTimeMs: number): void {
    if (eventTimeMs > (this.lastEventTimes.get(symbol) ?? 0)) this.lastEventTimes.set(symbol, eventTimeMs);
  }

  /**
   * Starts a new build of `symbol`'s book (its RESET record): wall-clock milliseconds, raised to
   * the previous epoch + 1 if the clock did not move (or went back), so epochs only rise.
   */
  newEpoch(symbol: string): number {
    const epoch = Math.max(Math.floor(this.nowMs()), (this.epochs.get(symbol) ?? 0) + 1);
    this.epochs.set(symbol, epoch);
    return epoch;
  }

  /** The epoch of the current build (0 before the first). */
  epoch(symbol: string): number {
    return this.epochs.get(symbol) ?? 0;
  }

  /**
   * The exchange event time of a RESET: the latest `E` among the diffs it folded; if it folded
   * none, the latest `E` received for the symbol so far; else 0 (none known).
   */
  resetEventTimeMs(symbol: string, folded: ReadonlyArray<{ eventTimeMs: number }>): number {
    let latest = 0;
    for (const ev of folded) if (ev.eventTimeMs > latest) latest = ev.eventTimeMs;
    return latest > 0 ? latest : (this.lastEventTimes.get(symbol) ?? 0);
  }
}
