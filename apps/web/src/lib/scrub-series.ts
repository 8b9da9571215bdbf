// One symbol's scrubbed history (time travel) in fixed typed arrays: time buckets keeping the last
// value of each series, doubled in width (pairs merged) whenever the points would pass the cap,
// so memory stays bounded however long the history or the live tail runs. Pure: no clock, no I/O.

/** The series kept per point. */
export const SCRUB_SERIES = ["obi20", "obi5", "mid"] as const;
export type ScrubSeriesName = (typeof SCRUB_SERIES)[number];

export const SCRUB_SERIES_DEFAULTS = {
  /** Points kept at most (each bucket is one point). */
  maxPoints: 1_200,
  /** Narrowest bucket: 1 point per this many ms. */
  minBucketMs: 50,
} as const;

export interface ScrubPoint {
  /** Time of the bucket's last update, ms since the epoch. */
  t: number;
  /** SCRUB_SERIES[i] (NaN = no value in that bucket). */
  values: number[];
  /** The bucket's last update came live, after the handover. */
  live: boolean;
}

export class ScrubSeries {
  /** Per slot: bucket index from the origin, time of its last update, live flag, values. */
  private readonly index: Float64Array;
  private readonly times: Float64Array;
  private readonly live: Uint8Array;
  private readonly values: Float64Array;
  private n = 0;
  private bucket: number;
  /** Updates added (before downsampling). */
  historyUpdates = 0;
  liveUpdates = 0;

  constructor(
    readonly originMs: number,
    windowMs: number,
    readonly maxPoints: number = SCRUB_SERIES_DEFAULTS.maxPoints,
  ) {
    // Start so the requested window fills about half the points: the live tail has room before a merge.
    this.bucket = Math.max(SCRUB_SERIES_DEFAULTS.minBucketMs, Math.ceil((2 * windowMs) / maxPoints));
    this.index = new Float64Array(maxPoints);
    this.times = new Float64Array(maxPoints);
    this.live = new Uint8Array(maxPoints);
    this.values = new Float64Array(maxPoints * SCRUB_SERIES.length).fill(NaN);
  }

  get bucketMs(): number {
    return this.bucket;
  }

  get size(): number {
    return this.n;
  }

  /**
   * Adds one update's values at `tMs`. A time before the last point's (clocks of two hosts, a
   * reordering) joins the last point: the series never goes back in time.
   */
  add(tMs: number, values: readonly (number | undefined)[], live: boolean): void {
    if (live) this.liveUpdates++;
    else this.historyUpdates++;
    const t = this.n > 0 ? Math.max(tMs, this.times[this.n - 1]!) : Math.max(tMs, this.originMs);
    const flag = live ? 1 : 0;
    let idx = Math.floor((t - this.originMs) / this.bucket);
    // History and live never share a point: the handover stays visible at any width.
    const joins = () => this.n > 0 && this.index[this.n - 1] === idx && this.live[this.n - 1] === flag;
    while (this.n === this.maxPoints && !joins()) {
      this.merge();
      idx = Math.floor((t - this.originMs) / this.bucket);
    }
    let slot = this.n - 1;
    if (!joins()) {
      slot = this.n++;
      this.index[slot] = idx;
      this.values.fill(NaN, slot * SCRUB_SERIES.length, (slot + 1) * SCRUB_SERIES.length);
    }
    this.times[slot] = t;
    this.live[slot] = flag;
    const base = slot * SCRUB_SERIES.length;
    for (let i = 0; i < SCRUB_SERIES.length; i++) {
      const v = values[i];
      if (v !== undefined && Number.isFinite(v)) this.values[base + i] = v;
    }
  }

  /** Doubles the bucket width: each pair of buckets becomes one, keeping the later values. */
  private merge(): void {
    this.bucket *= 2;
    let out = -1;
    const k = SCRUB_SERIES.length;
    for (let i = 0; i < this.n; i++) {
      const idx = Math.floor(this.index[i]! / 2);
      if (out < 0 || this.index[out] !== idx || this.live[out] !== this.live[i]) {
        out++;
        this.index[out] = idx;
        this.live[out] = this.live[i]!;
        for (let j = 0; j < k; j++) this.values[out * k + j] = this.values[i * k + j]!;
      } else {
        for (let j = 0; j < k; j++) {
          const v = this.values[i * k + j]!;
          if (!Number.isNaN(v)) this.values[out * k + j] = v;
        }
      }
      this.times[out] = this.times[i]!;
    }
    this.n = out + 1;
    this.values.fill(NaN, this.n * k);
  }

  /** The points of one series (for a chart), optionally only history or only live. */
  points(series: ScrubSeriesName, which?: "history" | "live"): { t: number; v: number }[] {
    const j = SCRUB_SERIES.indexOf(series);
    const out: { t: number; v: number }[] = [];
    for (let i = 0; i < this.n; i++) {
      if (which && (this.live[i] === 1) !== (which === "live")) continue;
      const v = this.values[i * SCRUB_SERIES.length + j]!;
      if (!Number.isNaN(v)) out.push({ t: this.times[i]!, v });
    }
    return out;
  }

  /** The last point at or before `tMs` (the first point for an earlier time), or undefined when empty. */
  at(tMs: number): ScrubPoint | undefined {
    if (this.n === 0) return undefined;
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (this.times[mid]! <= tMs) lo = mid;
      else hi = mid - 1;
    }
    const k = SCRUB_SERIES.length;
    return {
      t: this.times[lo]!,
      values: Array.from(this.values.subarray(lo * k, (lo + 1) * k)),
      live: this.live[lo] === 1,
    };
  }

  /** Time of the first and the last point. */
  span(): [number, number] | undefined {
    return this.n > 0 ? [this.times[0]!, this.times[this.n - 1]!] : undefined;
  }

  /** Time of the last history point and of the first live one. */
  edges(): { lastHistoryMs?: number; firstLiveMs?: number } {
    let lastHistoryMs: number | undefined;
    let firstLiveMs: number | undefined;
    for (let i = 0; i < this.n; i++) {
      if (this.live[i] === 0) lastHistoryMs = this.times[i];
      else firstLiveMs ??= this.times[i];
    }
    return { lastHistoryMs, firstLiveMs };
  }
}
