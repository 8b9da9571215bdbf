import { OrderBook } from "./book.js";
import type { DepthDiff, DepthSnapshot } from "./parse.js";

// Binance's documented "manage a local order book" procedure as a pure state machine
// (binance-protocol.md §6 spot, §9 USD-M). The caller owns I/O: it fetches a snapshot when
// told to and feeds every diff; this class decides what may be applied.

export type SyncMode = "spot" | "usdm";
export type SyncState = "awaiting_first_event" | "awaiting_snapshot" | "synced";

export type SyncResult =
  /** needSnapshot is true once per (re)sync: on the first event buffered. */
  | { type: "buffered"; needSnapshot: boolean }
  | { type: "applied"; book: OrderBook; event: DepthDiff }
  | { type: "ignored_stale"; event: DepthDiff }
  /** Book discarded; the event is buffered as the first of a new sync: fetch a snapshot now. */
  | { type: "gap"; expectedFirstUpdateId: number; event: DepthDiff }
  /** Applying produced a crossed book: discarded; fetch a snapshot now. */
  | { type: "crossed"; event: DepthDiff };

export type SnapshotResult =
  | { type: "synced"; book: OrderBook; applied: DepthDiff[] }
  /** The snapshot cannot bridge the buffered events: fetch another (after a backoff). */
  | { type: "refetch"; reason: string }
  /** The buffered events themselves have a hole: a new snapshot is needed. */
  | { type: "gap"; reason: string };

export interface BookSyncOptions {
  mode: SyncMode;
  /** Bounded memory while a snapshot is awaited: the oldest buffered events are dropped. */
  maxBufferedEvents: number;
}

export const DEFAULT_BOOK_SYNC_OPTIONS: Readonly<BookSyncOptions> = Object.freeze({
  mode: "spot",
  maxBufferedEvents: 10_000,
});

export class BookSync {
  readonly book: OrderBook;
  private readonly opts: BookSyncOptions;
  private st: SyncState = "awaiting_first_event";
  private buffer: DepthDiff[] = [];
  /** USD-M: the first event after a snapshot must straddle it (U <= L <= u). */
  private firstAfterSnapshot = false;
  private readonly c = { applied: 0, gaps: 0, stale: 0, resyncs: 0, crossed: 0, dropped: 0 };

  constructor(
    readonly symbol: string,
    opts: Partial<BookSyncOptions> = {},
  ) {
    this.opts = { ...DEFAULT_BOOK_SYNC_OPTIONS, ...opts };
    this.book = new OrderBook(symbol);
  }

  get state(): SyncState {
    return this.st;
  }

  counters(): { applied: number; gaps: number; stale: number; resyncs: number; crossed: number; dropped: number } {
    return { ...this.c };
  }

  /** Discards book and buffer (e.g. after a reconnect): the next diff starts a new sync. */
  reset(): void {
    this.book.clear();
    this.buffer = [];
    this.st = "awaiting_first_event";
    this.firstAfterSnapshot = false;
  }

  onDiff(ev: DepthDiff): SyncResult {
    if (this.st === "awaiting_first_event") {
      this.buffer = [ev];
      this.st = "awaiting_snapshot";
      this.c.resyncs++;
      return { type: "buffered", needSnapshot: true };
    }
    if (this.st === "awaiting_snapshot") {
      this.buffer.push(ev);
      if (this.buffer.length > this.opts.maxBufferedEvents) {
        this.buffer.shift();
        this.c.dropped++;
      }
      return { type: "buffered", needSnapshot: false };
    }
    return this.applyLive(ev);
  }

  onSnapshot(s: DepthSnapshot): SnapshotResult {
    if (this.st === "synced") this.reset();
    const L = s.lastUpdateId;
    const first = this.buffer[0];
    if (this.opts.mode === "spot" && first && L < first.firstUpdateId) {
      return { type: "refetch", reason: `snapshot ${L} is older than the first buffered U ${first.firstUpdateId}` };
    }
    const pending =
      this.opts.mode === "spot"
        ? this.buffer.filter((e) => e.finalUpdateId > L)
        : this.buffer.filter((e) => e.finalUpdateId >= L);
    const head = pending[0];
    if (this.opts.mode === "usdm" && head && head.firstUpdateId > L) {
      return { type: "refetch", reason: `first event U ${head.firstUpdateId} > snapshot ${L}: events missing` };
    }
    this.book.loadSnapshot(s);
    this.st = "synced";
    this.buffer = [];
    this.firstAfterSnapshot = this.opts.mode === "usdm";
    const applied: DepthDiff[] = [];
    for (let i = 0; i < pending.length; i++) {
      const ev = pending[i]!;
      const r = this.applyLive(ev);
      if (r.type === "applied") applied.push(ev);
      else if (r.type === "gap" || r.type === "crossed") {
        // Keep what follows buffered so the next snapshot can bridge it.
        this.buffer = pending.slice(r.type === "gap" ? i : i + 1);
        return {
          type: "gap",
          reason: `buffered event U=${ev.firstUpdateId} u=${ev.finalUpdateId} did not apply (${r.type})`,
        };
      }
    }
    return { type: "synced", book: this.book, applied };
  }

  private applyLive(ev: DepthDiff): SyncResult {
    const id = this.book.updateId;
    // Fully old (also a duplicate of the last applied event): quantities are absolute, so
    // skipping it loses nothing and publishes nothing twice.
    if (ev.finalUpdateId <= id) {
      // USD-M: a snapshot taken exactly at an event boundary includes the event ending at its
      // lastUpdateId; the next one then chains to it by `pu`, so the first-event rule is met.
      if (this.firstAfterSnapshot && ev.finalUpdateId === id) this.firstAfterSnapshot = false;
      this.c.stale++;
      return { type: "ignored_stale", event: ev };
    }
    let contiguous: boolean;
    if (this.opts.mode === "spot") contiguous = ev.firstUpdateId <= id + 1;
    else if (this.firstAfterSnapshot)
      contiguous = (ev.firstUpdateId <= id && id <= ev.finalUpdateId) || ev.prevFinalUpdateId === id;
    else contiguous = ev.prevFinalUpdateId === id;
    if (!contiguous) {
      this.c.gaps++;
      this.restartFrom(ev);
      return { type: "gap", expectedFirstUpdateId: id + 1, event: ev };
    }
    this.book.applyLevels(ev.bids, ev.asks);
    this.book.updateId = ev.finalUpdateId;
    this.firstAfterSnapshot = false;
    if (this.book.isCrossed()) {
      this.c.crossed++;
      this.restartFrom(undefined);
      return { type: "crossed", event: ev };
    }
    this.c.applied++;
    return { type: "applied", book: this.book, event: ev };
  }

  /** Discards the book and waits for a snapshot, keeping `ev` as the first buffered event. */
  private restartFrom(ev: DepthDiff | undefined): void {
    this.book.clear();
    this.buffer = ev ? [ev] : [];
    this.st = "awaiting_snapshot";
    this.firstAfterSnapshot = false;
    this.c.resyncs++;
  }
}
