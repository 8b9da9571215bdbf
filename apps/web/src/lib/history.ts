// Per-second history of one symbol in fixed typed arrays: writing an update is O(1) whatever the
// history's length, and nothing is allocated per update. NaN = no value in that second.

export const HISTORY_SECONDS = 60;

/** The series kept per second (the last value seen in that second). */
export const SERIES = ["obi1", "obi5", "obi10", "obi20", "micro", "spread", "ofi1s"] as const;
export type Series = (typeof SERIES)[number];
const INDEX: Record<Series, number> = Object.fromEntries(SERIES.map((s, i) => [s, i])) as Record<Series, number>;

export class SecondHistory {
  /** seconds[slot] = the epoch second the slot holds (-1 = empty). */
  private readonly seconds: Float64Array;
  private readonly values: Float64Array;

  constructor(readonly length = HISTORY_SECONDS) {
    this.seconds = new Float64Array(length).fill(-1);
    this.values = new Float64Array(length * SERIES.length).fill(NaN);
  }

  /** Records the values of `second`; `values[i]` is SERIES[i] (undefined = no value). */
  write(second: number, values: readonly (number | undefined)[]): void {
    const slot = second % this.length;
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second;
      this.values.fill(NaN, slot * SERIES.length, (slot + 1) * SERIES.length);
    }
    const base = slot * SERIES.length;
    for (let i = 0; i < SERIES.length; i++) {
      const v = values[i];
      // A missing value in a later update of the same second keeps the earlier one.
      if (v !== undefined && Number.isFinite(v)) this.values[base + i] = v;
    }
  }

  /** The value of a series at an epoch second, or NaN. */
  at(second: number, series: Series): number {
    const slot = second % this.length;
    if (second < 0 || this.seconds[slot] !== second) return NaN;
    return this.values[slot * SERIES.length + INDEX[series]]!;
  }

  /** Points (second, value) of a series over the `length` seconds ending at `nowSecond`. */
  points(nowSecond: number, series: Series): { t: number; v: number }[] {
    const out: { t: number; v: number }[] = [];
    for (let s = nowSecond - this.length + 1; s <= nowSecond; s++) {
      const v = this.at(s, series);
      if (!Number.isNaN(v)) out.push({ t: s * 1000, v });
    }
    return out;
  }
}

/**
 * Latency samples in per-second log-bucket histograms (1% buckets, like the gateway's two
 * significant digits): O(1) per sample, percentiles over the last `windowSeconds` on demand.
 */
export class LatencyWindow {
  static readonly MIN_MS = 0.01;
  static readonly GROWTH = 1.01;
  static readonly BUCKETS = Math.ceil(Math.log(600_000 / LatencyWindow.MIN_MS) / Math.log(LatencyWindow.GROWTH)) + 1;
  private readonly seconds: Float64Array;
  private readonly counts: Uint32Array;

  constructor(readonly windowSeconds = HISTORY_SECONDS) {
    this.seconds = new Float64Array(windowSeconds).fill(-1);
    this.counts = new Uint32Array(windowSeconds * LatencyWindow.BUCKETS);
  }

  static bucketOf(ms: number): number {
    if (ms <= LatencyWindow.MIN_MS) return 0;
    const b = Math.floor(Math.log(ms / LatencyWindow.MIN_MS) / Math.log(LatencyWindow.GROWTH)) + 1;
    return Math.min(LatencyWindow.BUCKETS - 1, b);
  }

  /** Upper bound of a bucket, in ms. */
  static valueOf(bucket: number): number {
    return bucket === 0 ? LatencyWindow.MIN_MS : LatencyWindow.MIN_MS * LatencyWindow.GROWTH ** bucket;
  }

  record(nowMs: number, latencyMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const slot = second % this.windowSeconds;
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second;
      this.counts.fill(0, slot * LatencyWindow.BUCKETS, (slot + 1) * LatencyWindow.BUCKETS);
    }
    this.counts[slot * LatencyWindow.BUCKETS + LatencyWindow.bucketOf(Math.max(0, latencyMs))]!++;
  }

  /** p50/p99 over the window ending at nowMs; undefined before any sample. */
  percentiles(nowMs: number): { p50: number; p99: number; count: number } | undefined {
    const nowSecond = Math.floor(nowMs / 1000);
    const sum = new Float64Array(LatencyWindow.BUCKETS);
    let count = 0;
    for (let slot = 0; slot < this.windowSeconds; slot++) {
      const s = this.seconds[slot]!;
      if (s < 0 || s <= nowSecond - this.windowSeconds || s > nowSecond) continue;
      const base = slot * LatencyWindow.BUCKETS;
      for (let b = 0; b < LatencyWindow.BUCKETS; b++) {
        const c = this.counts[base + b]!;
        if (c) {
          sum[b] = sum[b]! + c;
          count += c;
        }
      }
    }
    if (count === 0) return undefined;
    const at = (q: number) => {
      const rank = Math.max(1, Math.ceil(q * count));
      let seen = 0;
      for (let b = 0; b < sum.length; b++) {
        seen += sum[b]!;
        if (seen >= rank) return LatencyWindow.valueOf(b);
      }
      return LatencyWindow.valueOf(sum.length - 1);
    };
    return { p50: at(0.5), p99: at(0.99), count };
  }
}

/** A fixed-capacity ring of records, oldest first on read. */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.capacity, this.size + 1);
  }

  last(): T | undefined {
    return this.size === 0 ? undefined : this.items[(this.next - 1 + this.capacity) % this.capacity];
  }

  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.size; i++)
      out.push(this.items[(this.next - this.size + i + this.capacity) % this.capacity]!);
    return out;
  }
}
