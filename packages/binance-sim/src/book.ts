// The simulator's own order book, independent of @quantcore/core on purpose: it is the
// "exchange" the pipeline is checked against. Keeps Binance's exact price/qty strings.

export type WireLevel = [price: string, qty: string];

export class SimBook {
  lastUpdateId = 0;
  readonly bids = new Map<string, string>();
  readonly asks = new Map<string, string>();

  load(lastUpdateId: number, bids: WireLevel[], asks: WireLevel[]): void {
    this.bids.clear();
    this.asks.clear();
    this.apply(bids, asks);
    this.lastUpdateId = lastUpdateId;
  }

  apply(bids: WireLevel[], asks: WireLevel[]): void {
    for (const [p, q] of bids) {
      if (Number(q) === 0) this.bids.delete(p);
      else this.bids.set(p, q);
    }
    for (const [p, q] of asks) {
      if (Number(q) === 0) this.asks.delete(p);
      else this.asks.set(p, q);
    }
  }

  /** Best-first levels, at most `limit` per side. */
  top(limit: number): { bids: WireLevel[]; asks: WireLevel[] } {
    const sorted = (m: Map<string, string>, desc: boolean) =>
      [...m.entries()]
        .sort((a, b) => (desc ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0])))
        .slice(0, limit);
    return { bids: sorted(this.bids, true), asks: sorted(this.asks, false) };
  }

  bestBid(): number {
    let b = -Infinity;
    for (const p of this.bids.keys()) b = Math.max(b, Number(p));
    return b;
  }

  bestAsk(): number {
    let a = Infinity;
    for (const p of this.asks.keys()) a = Math.min(a, Number(p));
    return a;
  }
}
