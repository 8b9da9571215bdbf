import { create } from "@bufbuild/protobuf";
import { OfiTracker, computeSignals, type Level } from "@quantcore/core";
import {
  BookUpdateKind,
  HopTimestampsSchema,
  MarketUpdateSchema,
  SignalsSchema,
  type BookUpdate,
  type MarketUpdate,
} from "@quantcore/proto";
import type { ComputeOptions } from "./options.js";

/**
 * Per-symbol signal state. OFI needs the previous top of book, so the state lives here and
 * is dropped on a RESET record (the book was rebuilt: its history is no longer continuous).
 */
export class SignalEngine {
  private readonly ofi = new Map<string, OfiTracker>();

  constructor(private readonly opts: Pick<ComputeOptions, "signals" | "ofiWindowsMs">) {}

  /** Turns one book record into the MarketUpdate bots receive (publish time set by the caller). */
  apply(rec: BookUpdate, computeReceiveUs: number): MarketUpdate {
    const bids: Level[] = rec.bids.map((l) => [l.price, l.quantity]);
    const asks: Level[] = rec.asks.map((l) => [l.price, l.quantity]);
    const s = computeSignals(bids, asks, this.opts.signals);

    let tracker = this.ofi.get(rec.symbol);
    if (!tracker) {
      tracker = new OfiTracker({ windowsMs: this.opts.ofiWindowsMs });
      this.ofi.set(rec.symbol, tracker);
    }
    if (rec.kind === BookUpdateKind.RESET) tracker.reset();
    let ofi1s: number | undefined;
    let ofi10s: number | undefined;
    const bb = bids[0];
    const ba = asks[0];
    if (bb && ba) {
      // Exchange time, not wall clock: a replay reproduces the live windows exactly.
      const t = rec.exchangeEventTimeMs > 0 ? rec.exchangeEventTimeMs : rec.ingestReceiveTimeUs / 1000;
      const v = tracker.update(t, bb[0], bb[1], ba[0], ba[1]);
      ofi1s = v[0];
      ofi10s = v[1];
    }

    return create(MarketUpdateSchema, {
      symbol: rec.symbol,
      updateId: rec.updateId,
      snapshot: false,
      signals: create(SignalsSchema, { ...s, ofi1s, ofi10s }),
      timestamps: create(HopTimestampsSchema, {
        exchangeEventUs: rec.exchangeEventTimeMs * 1000,
        ingestReceiveUs: rec.ingestReceiveTimeUs,
        ingestProduceUs: rec.ingestProduceTimeUs,
        computeReceiveUs,
      }),
    });
  }

  forget(symbol: string): void {
    this.ofi.delete(symbol);
  }
}
