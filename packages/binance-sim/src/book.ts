// The simulator's own order book, independent of @quantcore/core on purpose: it is the
// "exchange" the pipeline is checked against. Keeps Binance's exact price/qty strings.

export type WireLevel = [price: string, qty: string];

export class SimBook {
  lastUpdateId = 0;
  readonly bids = new Map<string, string>();
  readonly asks = new Map<string, string>();
  // Cached best prices (undefined = recompute): the generator asks for them several times per event.
  private bb: number | undefined;
  private ba: number | undefined;

  load(lastUpdateId: number, bids: WireLevel[], asks: WireLevel[]): void {
    this.bids.clear();
    this.asks.clear();
    this.bb = this.ba = undefined;
    this.apply(bids, asks);
    this.lastUpdateId = lastUpdateId;
  }

  apply(bids: WireLevel[], asks: WireLevel[]): void {
    for (const [p, q] of bids) {
      const x = Number(p);
      if (Number(q) === 0) {
        if (this.bids.delete(p) && this.bb !== undefined && x >= this.bb) this.bb = undefined;
      } else {
        this.bids.set(p, q);
        if (this.bb !== undefined && x > this.bb) this.bb = x;
      }
    }
    for (const [p, q] of asks) {
      const x = Number(p);
      if (Number(q) === 0) {
        if (this.asks.delete(p) && this.ba !== undefined && x <= this.ba) this.ba = undefined;
      } else {
        this.asks.set(p, q);
        if (this.ba !== undefined && x < this.ba) this.ba = x;
      }
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
    if (this.bb === undefined) {
      let b = -Infinity;
      for (const p of this.bids.keys()) b = Math.max(b, Number(p));
      this.bb = b;
    }
    return this.bb;
  }

  bestAsk(): number {
    if (this.ba === undefined) {
      let a = Infinity;
      for (const p of this.asks.keys()) a = Math.min(a, Number(p));
      this.ba = a;
    }
    return this.ba;
  }
}
