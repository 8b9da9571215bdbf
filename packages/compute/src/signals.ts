import { create } from "@bufbuild/protobuf";
import { OfiTracker, computeSignals, type Level, type OfiState } from "@quantcore/core";
import {
  BookUpdateKind,
  HopTimestampsSchema,
  MarketUpdateSchema,
  SignalsSchema,
  type BookUpdate,
  type MarketUpdate,
} from "@quantcore/proto";
import type { ComputeOptions } from "./options.js";

interface SymbolState {
  ofi: OfiTracker;
  /** Updates up to this id are already inside the tracker (restored from Redis). */
  countedThrough: bigint;
}

/**
 * Per-symbol signal state. OFI needs the previous top of book and a window of events; that
 * state is stored beside the published signals, so an instance that takes a partition over
 * (rebalance, restart) continues the same windows instead of starting from zero.
 */
export class SignalEngine {
  private readonly symbols = new Map<string, SymbolState>();

  constructor(private readonly opts: Pick<ComputeOptions, "signals" | "ofiWindowsMs">) {}

  has(symbol: string): boolean {
    return this.symbols.has(symbol);
  }

  /** Adopts a stored tracker; `updateId` is the update it was stored with. */
  restore(symbol: string, updateId: bigint, ofi: string): void {
    const tracker = new OfiTracker({ windowsMs: this.opts.ofiWindowsMs });
    tracker.restore(JSON.parse(ofi) as OfiState);
    this.symbols.set(symbol, { ofi: tracker, countedThrough: updateId });
  }

  ofiSnapshot(symbol: string): string {
    const st = this.symbols.get(symbol);
    return st ? JSON.stringify(st.ofi.snapshot()) : "";
  }

  /** Turns one book record into the MarketUpdate bots receive (publish time set by the caller). */
  apply(rec: BookUpdate, computeReceiveUs: number): MarketUpdate {
    const bids: Level[] = rec.bids.map((l) => [l.price, l.quantity]);
    const asks: Level[] = rec.asks.map((l) => [l.price, l.quantity]);
    const s = computeSignals(bids, asks, this.opts.signals);

    let st = this.symbols.get(rec.symbol);
    if (!st) {
      st = { ofi: new OfiTracker({ windowsMs: this.opts.ofiWindowsMs }), countedThrough: -1n };
      this.symbols.set(rec.symbol, st);
    }
    // A rebuilt book breaks the event history: OFI restarts from zero.
    if (rec.kind === BookUpdateKind.RESET) {
      st.ofi.reset();
      st.countedThrough = -1n;
    }
    let ofi1s: number | undefined;
    let ofi10s: number | undefined;
    const bb = bids[0];
    const ba = asks[0];
    if (bb && ba && rec.updateId > st.countedThrough) {
      // Exchange time, not wall clock: a replay reproduces the live windows exactly.
      const t = rec.exchangeEventTimeMs > 0 ? rec.exchangeEventTimeMs : rec.ingestReceiveTimeUs / 1000;
      const v = st.ofi.update(t, bb[0], bb[1], ba[0], ba[1]);
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
}
