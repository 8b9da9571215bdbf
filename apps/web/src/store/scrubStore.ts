// The history scrub's state, outside React: one symbol's time-travel stream (replayed history,
// the handover, then live) into a bounded, downsampled series; panels are told on frame budgets.
import type { MarketUpdate, ReplayHandover } from "@quantcore/proto";
import { priceDecimals } from "../lib/format";
import { ScrubSeries } from "../lib/scrub-series";
import { Notifier } from "./notify";

export type ScrubPhase = "idle" | "replaying" | "live" | "ended";

/** The history windows offered, in minutes. */
export const SCRUB_WINDOWS_MIN = [1, 5, 15, 60] as const;

/** Time of an update on the pipeline's own clock (what a time-travel start refers to). */
export const timeOf = (u: MarketUpdate) => (u.timestamps?.ingestReceiveUs || u.timestamps?.exchangeEventUs || 0) / 1000;

/** OBI 20, OBI 5 and the mid price of an update (SCRUB_SERIES order). */
export function valuesOf(u: MarketUpdate): (number | undefined)[] {
  const s = u.signals;
  const bid = s?.bestBidPrice;
  const ask = s?.bestAskPrice;
  return [s?.obi20, s?.obi5, bid !== undefined && ask !== undefined ? (bid + ask) / 2 : undefined];
}

export class ScrubStore {
  readonly notifier = new Notifier();
  symbol = "";
  windowMin = 0;
  phase: ScrubPhase = "idle";
  /** Why the stream ended (empty while it runs). */
  error = "";
  /** E.g. the log held less than the window: where the history starts instead. */
  note = "";
  /** The time the history was asked from. */
  startMs = 0;
  /** The handover: where history ends and live continues (the last replayed update's time). */
  handoverMs: number | undefined;
  replayedUpdates = 0n;
  series: ScrubSeries | undefined;
  /** Decimals of the symbol's prices. */
  priceDecimals = 0;

  /** A new scrub (or a retry from a later start) over about `spanMs` of history: empty series, replaying. */
  begin(symbol: string, windowMin: number, startMs: number, spanMs: number): void {
    this.symbol = symbol;
    this.windowMin = windowMin;
    this.startMs = startMs;
    this.phase = "replaying";
    this.error = "";
    this.handoverMs = undefined;
    this.replayedUpdates = 0n;
    this.series = new ScrubSeries(startMs, spanMs);
    this.changed();
  }

  update(u: MarketUpdate): void {
    if (!this.series || u.symbol !== this.symbol) return;
    this.series.add(timeOf(u), valuesOf(u), this.phase === "live");
    const bid = u.signals?.bestBidPrice;
    if (bid !== undefined) this.priceDecimals = Math.max(this.priceDecimals, priceDecimals(bid));
    this.notifier.dirty("charts");
  }

  handover(h: ReplayHandover): void {
    this.phase = "live";
    this.replayedUpdates = h.replayedUpdates;
    this.handoverMs = this.series?.edges().lastHistoryMs ?? h.replayedUntilUs / 1000;
    this.changed();
  }

  end(reason: string): void {
    if (this.phase === "idle") return;
    this.phase = "ended";
    this.error = reason;
    this.changed();
  }

  /** Closed by the operator: nothing shown. */
  clear(): void {
    this.phase = "idle";
    this.series = undefined;
    this.note = "";
    this.error = "";
    this.changed();
  }

  private changed(): void {
    this.notifier.dirty("status");
    this.notifier.dirty("charts");
  }

  close(): void {
    this.notifier.close();
  }
}
