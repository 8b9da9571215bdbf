import { create } from "@bufbuild/protobuf";
import { OfiTracker, computeSignals, type Level, type OfiState } from "@quantcore/core";
import {
  BookUpdateKind,
  HopTimestampsSchema,
  MarketUpdateSchema,
  SignalsSchema,
  type BookUpdateFields,
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

  /** Feeds one record's top of book into the symbol's OFI windows; returns OFI per window. */
  trackOfi(rec: BookUpdateFields): number[] | undefined {
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
    const bb = rec.bids[0];
    const ba = rec.asks[0];
    if (!bb || !ba || rec.updateId <= st.countedThrough) return undefined;
    // Exchange time, not wall clock: a replay reproduces the live windows exactly.
    const t = rec.exchangeEventTimeMs > 0 ? rec.exchangeEventTimeMs : rec.ingestReceiveTimeUs / 1000;
    return st.ofi.update(t, bb.price, bb.quantity, ba.price, ba.quantity);
  }

  /** The MarketUpdate bots receive for one record (publish time is set by the caller). */
  toUpdate(rec: BookUpdateFields, ofi: number[] | undefined, computeReceiveUs: number): MarketUpdate {
    const bids: Level[] = rec.bids.map((l) => [l.price, l.quantity]);
    const asks: Level[] = rec.asks.map((l) => [l.price, l.quantity]);
    const s = computeSignals(bids, asks, this.opts.signals);
    return create(MarketUpdateSchema, {
      symbol: rec.symbol,
      updateId: rec.updateId,
      snapshot: false,
      signals: create(SignalsSchema, { ...s, ofi1s: ofi?.[0], ofi10s: ofi?.[1] }),
      timestamps: create(HopTimestampsSchema, {
        exchangeEventUs: rec.exchangeEventTimeMs * 1000,
        ingestReceiveUs: rec.ingestReceiveTimeUs,
        ingestProduceUs: rec.ingestProduceTimeUs,
        computeReceiveUs,
      }),
    });
  }
}
