import type { SharedStatus, SharedUpdate } from "./encoding.js";

/** One key per set of symbols (any order); no set means every symbol. */
export function subscriptionKey(symbols: Iterable<string> | undefined): string {
  return symbols ? [...symbols].sort().join(",") : "*";
}

/** A per-symbol rate cap: a symbol goes out at most once per `minIntervalMs` (0 = no cap). */
export class RateCap {
  private readonly lastSentAtMs = new Map<string, number>();
  readonly minIntervalMs: number;

  constructor(maxUpdatesPerSecond: number) {
    this.minIntervalMs = maxUpdatesPerSecond > 0 ? 1000 / maxUpdatesPerSecond : 0;
  }

  allows(symbol: string, nowMs: number): boolean {
    return this.minIntervalMs === 0 || nowMs - (this.lastSentAtMs.get(symbol) ?? 0) >= this.minIntervalMs;
  }

  record(symbol: string, nowMs: number): void {
    if (this.minIntervalMs > 0) this.lastSentAtMs.set(symbol, nowMs);
  }
}

/**
 * What one stream has not sent yet: the latest update per symbol (conflation) and the latest
 * status change per symbol, each with the order it arrived in, so they go out in arrival order.
 * A plain buffer: the stream that owns it decides when to fill, take, wake or end.
 */
export class Mailbox {
  private readonly latest = new Map<string, SharedUpdate>();
  /** Per pending update, its arrival order relative to the pending statuses. */
  private readonly latestSeq = new Map<string, number>();
  private readonly pendingStatus = new Map<string, { s: SharedStatus; seq: number }>();
  private seq = 0;
  private oldestPendingAtMs = 0;
  /** Updates replaced by a newer one before they went out. */
  conflated = 0;

  /**
   * Keeps `u` unless the pending update of its symbol is as new in (book epoch, update id): a newer
   * epoch wins whatever its id (a rebuilt book's ids may restart lower). The older one is conflated away.
   */
  offer(u: SharedUpdate, nowMs: number): void {
    const symbol = u.update.symbol;
    const prev = this.latest.get(symbol);
    if (prev) {
      const [p, n] = [prev.update, u.update];
      if (p.bookEpoch > n.bookEpoch || (p.bookEpoch === n.bookEpoch && p.updateId >= n.updateId)) return;
      this.conflated++;
    }
    if (this.latest.size === 0) this.oldestPendingAtMs = nowMs;
    this.latest.set(symbol, u);
    this.latestSeq.set(symbol, ++this.seq);
  }

  offerStatus(s: SharedStatus): void {
    this.pendingStatus.set(s.status.symbol, { s, seq: ++this.seq });
  }

  hasStatusPending(symbol: string): boolean {
    return this.pendingStatus.has(symbol);
  }

  /** Symbols with an update pending. */
  updatesPending(): number {
    return this.latest.size;
  }

  /** Updates and statuses pending. */
  pending(): number {
    return this.latest.size + this.pendingStatus.size;
  }

  /** How long the oldest pending update has waited (0 with none pending). */
  lagMs(nowMs: number): number {
    return this.latest.size > 0 ? nowMs - this.oldestPendingAtMs : 0;
  }

  /** Takes the updates that may go out now under `cap`. */
  take(nowMs: number, cap: RateCap): SharedUpdate[] {
    const out: SharedUpdate[] = [];
    for (const [symbol, u] of this.latest) {
      if (!cap.allows(symbol, nowMs)) continue;
      out.push(u);
      this.latest.delete(symbol);
      this.latestSeq.delete(symbol);
      cap.record(symbol, nowMs);
    }
    this.oldestPendingAtMs = nowMs;
    return out;
  }

  /** Takes the updates that may go out now and every pending status, in the order they arrived. */
  takeEvents(nowMs: number, cap: RateCap): (SharedUpdate | SharedStatus)[] {
    const seqs = this.pendingStatus.size > 0 ? new Map(this.latestSeq) : undefined;
    const updates = this.take(nowMs, cap);
    if (!seqs) return updates;
    const events: { e: SharedUpdate | SharedStatus; seq: number }[] = updates.map((u) => ({
      e: u,
      seq: seqs.get(u.update.symbol) ?? 0,
    }));
    for (const p of this.pendingStatus.values()) events.push({ e: p.s, seq: p.seq });
    this.pendingStatus.clear();
    return events.sort((a, b) => a.seq - b.seq).map((x) => x.e);
  }

  clear(): void {
    this.latest.clear();
    this.latestSeq.clear();
    this.pendingStatus.clear();
  }
}
