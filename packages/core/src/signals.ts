import type { Level } from "./parse.js";

// Signal definitions: docs/signals.md. Every function returns undefined for "no value"
// (empty or one-sided book, zero volume): never NaN or Infinity.

export interface SignalOptions {
  /** OBI depths, levels per side. */
  depths: number[];
  /** Weighted OBI uses levels within this distance of the mid, in basis points. */
  weightedBandBps: number;
}

export const DEFAULT_SIGNAL_OPTIONS: Readonly<SignalOptions> = Object.freeze({
  depths: [1, 5, 10, 20],
  weightedBandBps: 10,
});

export interface BookSignals {
  obi1?: number;
  obi5?: number;
  obi10?: number;
  obi20?: number;
  bestBidPrice?: number;
  bestBidQuantity?: number;
  bestAskPrice?: number;
  bestAskQuantity?: number;
  midPrice?: number;
  spreadBps?: number;
  microprice?: number;
  weightedObi?: number;
}

/** Sum of quantities of the first `depth` levels, best first (a fixed order: reproducible doubles). */
function volume(levels: Level[], depth: number): number {
  const n = Math.min(depth, levels.length);
  let v = 0;
  for (let i = 0; i < n; i++) v += levels[i]![1];
  return v;
}

/** (Vb - Va) / (Vb + Va) over the top `depth` levels per side. */
export function obi(bids: Level[], asks: Level[], depth: number): number | undefined {
  if (bids.length === 0 || asks.length === 0 || depth < 1) return undefined;
  const vb = volume(bids, depth);
  const va = volume(asks, depth);
  const total = vb + va;
  if (!(total > 0)) return undefined;
  return (vb - va) / total;
}

/** Linear-decay distance weights within `bandBps` of the mid. */
export function weightedObi(bids: Level[], asks: Level[], mid: number, bandBps: number): number | undefined {
  if (!(mid > 0) || !(bandBps > 0)) return undefined;
  const side = (levels: Level[]) => {
    let v = 0;
    for (const [p, q] of levels) {
      const d = (Math.abs(p - mid) / mid) * 1e4;
      if (d >= bandBps) break; // best-first: every later level is further away
      v += (1 - d / bandBps) * q;
    }
    return v;
  };
  const wb = side(bids);
  const wa = side(asks);
  const total = wb + wa;
  if (!(total > 0)) return undefined;
  return (wb - wa) / total;
}

const OBI_FIELDS: Record<number, keyof BookSignals> = { 1: "obi1", 5: "obi5", 10: "obi10", 20: "obi20" };

/** All per-book signals from best-first levels. */
export function computeSignals(bids: Level[], asks: Level[], opts: Partial<SignalOptions> = {}): BookSignals {
  const o = { ...DEFAULT_SIGNAL_OPTIONS, ...opts };
  const out: BookSignals = {};
  for (const d of o.depths) {
    const field = OBI_FIELDS[d];
    if (field) out[field] = obi(bids, asks, d);
  }
  const bb = bids[0];
  const ba = asks[0];
  if (bb) {
    out.bestBidPrice = bb[0];
    out.bestBidQuantity = bb[1];
  }
  if (ba) {
    out.bestAskPrice = ba[0];
    out.bestAskQuantity = ba[1];
  }
  if (bb && ba && bb[0] < ba[0]) {
    const mid = (bb[0] + ba[0]) / 2;
    out.midPrice = mid;
    out.spreadBps = ((ba[0] - bb[0]) / mid) * 1e4;
    const q = bb[1] + ba[1];
    if (q > 0) out.microprice = (bb[0] * ba[1] + ba[0] * bb[1]) / q;
    out.weightedObi = weightedObi(bids, asks, mid, o.weightedBandBps);
  }
  return out;
}

export interface OfiOptions {
  /** Rolling windows, in milliseconds of exchange event time. */
  windowsMs: number[];
  /**
   * Most events kept, whatever their times: bounds memory (and the stored state) even if a
   * caller's clock misbehaves. Past it the oldest events are dropped (their windows lose them).
   */
  maxEvents: number;
}

export interface OfiState {
  prev: number[] | null;
  times: number[];
  values: number[];
}

export const DEFAULT_OFI_OPTIONS: Readonly<OfiOptions> = Object.freeze({
  windowsMs: [1_000, 10_000],
  maxEvents: 20_000,
});

/**
 * Order flow imbalance (Cont, Kukanov & Stoikov 2014), summed over rolling windows of
 * event time. Each top-of-book change contributes
 *   e = 1{Pb >= Pb'} qb - 1{Pb <= Pb'} qb' - 1{Pa <= Pa'} qa + 1{Pa >= Pa'} qa'
 * where ' marks the previous top of book. The first event after reset contributes 0.
 * Time never runs backwards inside a tracker: an event older than the newest one is counted
 * at the newest one's time (exchange streams are ordered; this only guards a bad clock).
 */
export class OfiTracker {
  private readonly windowsMs: number[];
  private readonly maxWindowMs: number;
  private readonly maxEvents: number;
  private times: number[] = [];
  private values: number[] = [];
  private head = 0;
  private prev: [number, number, number, number] | undefined;

  constructor(opts: Partial<OfiOptions> = {}) {
    this.windowsMs = [...(opts.windowsMs ?? DEFAULT_OFI_OPTIONS.windowsMs)];
    this.maxWindowMs = Math.max(...this.windowsMs);
    this.maxEvents = Math.max(1, opts.maxEvents ?? DEFAULT_OFI_OPTIONS.maxEvents);
  }

  reset(): void {
    this.times = [];
    this.values = [];
    this.head = 0;
    this.prev = undefined;
  }

  /** The tracker's whole state, small enough to store beside the published signals. */
  snapshot(): OfiState {
    return {
      prev: this.prev ? [...this.prev] : null,
      times: this.times.slice(this.head),
      values: this.values.slice(this.head),
    };
  }

  /** Continues from a stored snapshot: a restarted or rebalanced consumer gets the same OFI. */
  restore(s: OfiState): void {
    const p = s.prev;
    this.prev = p && p.length === 4 ? [p[0]!, p[1]!, p[2]!, p[3]!] : undefined;
    // A stored state from before times were kept monotone may hold a run out of order: keep
    // the newest part that is in order, then the count bound.
    const n = Math.min(s.times.length, s.values.length);
    let from = Math.max(0, n - this.maxEvents);
    for (let i = n - 1; i > from; i--) {
      if (!(s.times[i - 1]! <= s.times[i]!)) {
        from = i;
        break;
      }
    }
    this.times = s.times.slice(from, n);
    this.values = s.values.slice(from, n);
    this.head = 0;
  }

  /** Time of the newest event, or undefined when empty. */
  lastTimeMs(): number | undefined {
    return this.times.length > this.head ? this.times[this.times.length - 1] : undefined;
  }

  /** Counts one top-of-book change and returns OFI per window up to it (record + windowSums). */
  update(eventTimeMs: number, bidPrice: number, bidQty: number, askPrice: number, askQty: number): number[] {
    this.record(eventTimeMs, bidPrice, bidQty, askPrice, askQty);
    return this.windowSums();
  }

  /**
   * Counts one top-of-book change without summing the windows: a caller that publishes only the
   * newest of several updates sums once, for that one (windowSums right after recording it).
   */
  record(eventTimeMs: number, bidPrice: number, bidQty: number, askPrice: number, askQty: number): void {
    const last = this.lastTimeMs();
    const timeMs = last !== undefined && !(eventTimeMs >= last) ? last : eventTimeMs;
    let e = 0;
    const p = this.prev;
    if (p) {
      const [pb, qb, pa, qa] = p;
      if (bidPrice >= pb) e += bidQty;
      if (bidPrice <= pb) e -= qb;
      if (askPrice <= pa) e -= askQty;
      if (askPrice >= pa) e += qa;
    }
    this.prev = [bidPrice, bidQty, askPrice, askQty];
    this.times.push(timeMs);
    this.values.push(e);
    // Drop what left the longest window; compact now and then so memory stays bounded.
    while (this.head < this.times.length && this.times[this.head]! <= timeMs - this.maxWindowMs) this.head++;
    if (this.times.length - this.head > this.maxEvents) this.head = this.times.length - this.maxEvents;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.values = this.values.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * OFI per window, over the events within each window of the newest one, summed newest first
   * (always in the same order, so the same events give the same bits). 0 per window when empty.
   */
  windowSums(): number[] {
    const timeMs = this.lastTimeMs();
    return this.windowsMs.map((w) => {
      let sum = 0;
      if (timeMs === undefined) return sum;
      for (let i = this.times.length - 1; i >= this.head && this.times[i]! > timeMs - w; i--) sum += this.values[i]!;
      return sum;
    });
  }
}
