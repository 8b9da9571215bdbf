import { SimBook, type WireLevel } from "./book.js";
import { SYMBOL_SPECS } from "./universe.js";

export interface DiffEvent {
  symbol: string;
  U: number;
  u: number;
  b: WireLevel[];
  a: WireLevel[];
}

/** Deterministic PRNG (mulberry32): a seed reproduces a synthetic session. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A plausible book for any symbol: a random-walk mid, 1000 levels a side, log-normal sizes,
 * a few near-top levels touched per event, deletions (some of levels a client never saw),
 * and `u - U + 1` larger than the number of levels changed, as on Binance. Never crossed.
 */
export class SyntheticBook {
  readonly book = new SimBook();
  private readonly tick: number;
  private readonly dp: number;
  private readonly dq: number;
  private readonly rnd: () => number;

  constructor(
    readonly symbol: string,
    seed: number,
    from?: SimBook,
  ) {
    const spec = SYMBOL_SPECS[symbol] ?? { price: 10, priceDecimals: 3, qtyDecimals: 2 };
    this.dp = spec.priceDecimals;
    this.dq = spec.qtyDecimals;
    this.tick = 10 ** -this.dp;
    this.rnd = prng(seed);
    if (from) {
      // Continue a replayed book where the recording ended: ids keep increasing.
      this.book.load(from.lastUpdateId, from.top(5000).bids, from.top(5000).asks);
    } else {
      const mid = spec.price;
      const bestBid = Math.round(mid / this.tick) * this.tick;
      const bids: WireLevel[] = [];
      const asks: WireLevel[] = [];
      for (let i = 0; i < 1000; i++) {
        // Cheap coins (PEPE at 850 ticks) have fewer than 1000 bid levels above zero.
        if (bestBid - i * this.tick > this.tick / 2) bids.push([this.px(bestBid - i * this.tick), this.size()]);
        asks.push([this.px(bestBid + (i + 1) * this.tick), this.size()]);
      }
      this.book.load(1_000_000 + Math.floor(this.rnd() * 1_000_000), bids, asks);
    }
  }

  private px(p: number): string {
    return p.toFixed(this.dp);
  }

  private size(): string {
    // Log-normal around a notional of ~2000 USDT per level.
    const z = Math.sqrt(-2 * Math.log(this.rnd() || 1e-12)) * Math.cos(2 * Math.PI * this.rnd());
    const notional = 2000 * Math.exp(0.9 * z);
    const best = this.book.bids.size > 0 ? this.book.bestBid() : 1;
    const q = Math.max(10 ** -this.dq, notional / Math.max(best, 1e-9));
    return q.toFixed(this.dq);
  }

  /** One diff event, applied to the book. */
  next(): DiffEvent {
    const b: WireLevel[] = [];
    const a: WireLevel[] = [];
    const bestBid = this.book.bestBid();
    const bestAsk = this.book.bestAsk();
    const r = this.rnd();
    if (r < 0.15) {
      // The top of one side is taken or improves: the mid walks.
      if (this.rnd() < 0.5) {
        b.push([this.px(bestBid), "0.00000000"]);
        if (this.rnd() < 0.5) a.push([this.px(bestBid), this.size()]);
      } else {
        a.push([this.px(bestAsk), "0.00000000"]);
        if (this.rnd() < 0.5) b.push([this.px(bestAsk), this.size()]);
      }
    } else if (bestAsk - bestBid > 1.5 * this.tick && this.rnd() < 0.7) {
      // Improve inside the spread without crossing: keeps the spread near one tick, as on Binance.
      if (this.rnd() < 0.5) b.push([this.px(bestBid + this.tick), this.size()]);
      else a.push([this.px(bestAsk - this.tick), this.size()]);
    }
    const n = 1 + Math.floor(this.rnd() * 5);
    for (let i = 0; i < n; i++) {
      const k = Math.floor(this.rnd() * 30);
      const del = this.rnd() < 0.2;
      if (this.rnd() < 0.5) {
        if (bestBid - k * this.tick > 0) b.push([this.px(bestBid - k * this.tick), del ? "0.00000000" : this.size()]);
      } else a.push([this.px(bestAsk + k * this.tick), del ? "0.00000000" : this.size()]);
    }
    const unseen = bestBid - 5000 * this.tick;
    if (this.rnd() < 0.05 && unseen > 0) b.push([this.px(unseen), "0.00000000"]); // a level nobody saw
    // Never cross: drop any bid at/above the resulting best ask and vice versa.
    const nextAsk = Math.min(...a.filter((l) => Number(l[1]) > 0).map((l) => Number(l[0])), this.book.bestAsk());
    const fb = b.filter((l) => Number(l[1]) === 0 || Number(l[0]) < nextAsk);
    const nextBid = Math.max(...fb.filter((l) => Number(l[1]) > 0).map((l) => Number(l[0])), this.book.bestBid());
    const fa = a.filter((l) => Number(l[1]) === 0 || Number(l[0]) > nextBid);
    this.book.apply(fb, fa);
    if (this.book.bids.size === 0 || this.book.asks.size === 0) this.refill();
    const U = this.book.lastUpdateId + 1;
    const u = U + fb.length + fa.length + Math.floor(this.rnd() * 8);
    this.book.lastUpdateId = u;
    return { symbol: this.symbol, U, u, b: fb, a: fa };
  }

  private refill(): void {
    const mid = this.book.bids.size > 0 ? this.book.bestBid() : this.book.bestAsk() - this.tick;
    for (let i = 1; i <= 50; i++) {
      if (this.book.asks.size < 50) this.book.apply([], [[this.px(mid + i * this.tick), this.size()]]);
      if (this.book.bids.size < 50) this.book.apply([[this.px(mid - (i - 1) * this.tick), this.size()]], []);
    }
  }
}
