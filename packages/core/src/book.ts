import type { DepthSnapshot, Level } from "./parse.js";

/**
 * One side of a book as parallel sorted arrays, best price first. Binary search + splice is
 * fast for the few thousand levels a Binance snapshot holds, and top(n) is a slice.
 */
class Side {
  prices: number[] = [];
  qtys: number[] = [];

  constructor(private readonly descending: boolean) {}

  clear(): void {
    this.prices = [];
    this.qtys = [];
  }

  /** Index of `price`, or -(insertion point) - 1. */
  private find(price: number): number {
    const a = this.prices;
    let lo = 0;
    let hi = a.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const p = a[mid]!;
      if (p === price) return mid;
      const before = this.descending ? p > price : p < price;
      if (before) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  set(price: number, qty: number): void {
    const i = this.find(price);
    if (i >= 0) {
      if (qty === 0) {
        this.prices.splice(i, 1);
        this.qtys.splice(i, 1);
      } else this.qtys[i] = qty;
    } else if (qty !== 0) {
      const at = -i - 1;
      this.prices.splice(at, 0, price);
      this.qtys.splice(at, 0, qty);
    }
    // qty 0 for an unknown level is normal (Binance §6): nothing to delete.
  }

  top(n: number): Level[] {
    const m = Math.min(n, this.prices.length);
    const out: Level[] = new Array(m);
    for (let i = 0; i < m; i++) out[i] = [this.prices[i]!, this.qtys[i]!];
    return out;
  }

  best(): Level | undefined {
    return this.prices.length > 0 ? [this.prices[0]!, this.qtys[0]!] : undefined;
  }
}

export class OrderBook {
  /** Id of the exchange state this book reflects (`lastUpdateId`, then each applied `u`). */
  updateId = 0;
  private readonly bids = new Side(true);
  private readonly asks = new Side(false);

  constructor(readonly symbol: string) {}

  clear(): void {
    this.bids.clear();
    this.asks.clear();
    this.updateId = 0;
  }

  loadSnapshot(s: DepthSnapshot): void {
    this.clear();
    this.applyLevels(s.bids, s.asks);
    this.updateId = s.lastUpdateId;
  }

  /** Absolute quantities; quantity 0 deletes the level. */
  applyLevels(bids: Level[], asks: Level[]): void {
    for (const [p, q] of bids) this.bids.set(p, q);
    for (const [p, q] of asks) this.asks.set(p, q);
  }

  bestBid(): Level | undefined {
    return this.bids.best();
  }

  bestAsk(): Level | undefined {
    return this.asks.best();
  }

  isCrossed(): boolean {
    const b = this.bids.prices[0];
    const a = this.asks.prices[0];
    return b !== undefined && a !== undefined && b >= a;
  }

  /** Best-first copies of the top `depth` levels per side. */
  top(depth: number): { bids: Level[]; asks: Level[] } {
    return { bids: this.bids.top(depth), asks: this.asks.top(depth) };
  }

  depth(): { bids: number; asks: number } {
    return { bids: this.bids.prices.length, asks: this.asks.prices.length };
  }
}
