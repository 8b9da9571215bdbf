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
import type { StoredOfi } from "./redis-writer.js";

/** (epoch, id) order: a newer book epoch wins whatever the id. */
export function isNewer(epoch: bigint, id: bigint, thanEpoch: bigint, thanId: bigint): boolean {
  return epoch !== thanEpoch ? epoch > thanEpoch : id > thanId;
}

interface SymbolState {
  ofi: OfiTracker;
  /** Updates up to this (epoch, id) are already inside the tracker. */
  epoch: bigint;
  countedThrough: bigint;
  /** Newest exchange time seen for the symbol: the time of records that carry none. */
  lastExchangeTimeMs?: number;
}

/**
 * Per-symbol signal state. OFI needs the previous top of book and a window of events; that
 * state is stored beside the published signals (see `saveOfi`), so an instance that takes a
 * partition over (rebalance, restart) continues the same windows instead of starting from zero.
 */
export class SignalEngine {
  private readonly symbols = new Map<string, SymbolState>();
  /** Symbols whose tracker changed since `takeDirty` last ran. */
  private readonly dirty = new Set<string>();

  constructor(private readonly opts: Pick<ComputeOptions, "signals" | "ofiWindowsMs" | "ofiMaxEvents">) {}

  private newTracker(): OfiTracker {
    return new OfiTracker({ windowsMs: this.opts.ofiWindowsMs, maxEvents: this.opts.ofiMaxEvents });
  }

  has(symbol: string): boolean {
    return this.symbols.has(symbol);
  }

  /** Adopts a stored tracker. */
  restore(symbol: string, stored: StoredOfi): void {
    const tracker = this.newTracker();
    tracker.restore(JSON.parse(stored.state) as OfiState);
    this.symbols.set(symbol, { ofi: tracker, epoch: stored.epoch, countedThrough: stored.updateId });
  }

  /** The trackers changed since the last call, to store (then committed offsets may pass them). */
  takeDirty(): Map<string, StoredOfi> {
    const out = new Map<string, StoredOfi>();
    for (const sym of this.dirty) {
      const st = this.symbols.get(sym);
      if (st) out.set(sym, { epoch: st.epoch, updateId: st.countedThrough, state: JSON.stringify(st.ofi.snapshot()) });
    }
    this.dirty.clear();
    return out;
  }

  /** Marks every tracker to be stored again (Redis came back, possibly empty). */
  markAllDirty(): void {
    for (const sym of this.symbols.keys()) this.dirty.add(sym);
  }

  /**
   * Feeds one record's top of book into the symbol's OFI windows; returns OFI per window, or
   * undefined when the record was counted before, has an empty side, or `sum` is false (the
   * caller publishes a newer record of the symbol: the windows are summed only for what is written).
   */
  trackOfi(rec: BookUpdateFields, sum = true): number[] | undefined {
    const epoch = rec.bookEpoch ?? 0n;
    let st = this.symbols.get(rec.symbol);
    if (!st) {
      st = { ofi: this.newTracker(), epoch, countedThrough: -1n };
      this.symbols.set(rec.symbol, st);
    }
    if (!isNewer(epoch, rec.updateId, st.epoch, st.countedThrough)) return undefined; // already counted
    // A rebuilt book (RESET, or the first record of a newer epoch) breaks the event history:
    // OFI restarts from zero.
    if (rec.kind === BookUpdateKind.RESET || epoch !== st.epoch) {
      const lastTimeMs = st.ofi.lastTimeMs();
      st.ofi.reset();
      st.lastExchangeTimeMs = lastTimeMs ?? st.lastExchangeTimeMs;
    }
    st.epoch = epoch;
    st.countedThrough = rec.updateId;
    this.dirty.add(rec.symbol);
    const bb = rec.bids[0];
    const ba = rec.asks[0];
    if (!bb || !ba) return undefined;
    // Exchange time only, never a wall clock: a replay reproduces the live windows exactly,
    // and a wall clock (years ahead of a recording's time) would pin the windows. A record
    // without exchange time counts at the newest exchange time seen for the symbol.
    const t =
      rec.exchangeEventTimeMs > 0 ? rec.exchangeEventTimeMs : (st.ofi.lastTimeMs() ?? st.lastExchangeTimeMs ?? 0);
    if (rec.exchangeEventTimeMs > 0) st.lastExchangeTimeMs = rec.exchangeEventTimeMs;
    st.ofi.record(t, bb.price, bb.quantity, ba.price, ba.quantity);
    return sum ? st.ofi.windowSums() : undefined;
  }

  /** The MarketUpdate bots receive for one record (publish time is set by the caller). */
  toUpdate(rec: BookUpdateFields, ofi: number[] | undefined, computeReceiveUs: number): MarketUpdate {
    const bids: Level[] = rec.bids.map((l) => [l.price, l.quantity]);
    const asks: Level[] = rec.asks.map((l) => [l.price, l.quantity]);
    const s = computeSignals(bids, asks, this.opts.signals);
    return create(MarketUpdateSchema, {
      symbol: rec.symbol,
      updateId: rec.updateId,
      bookEpoch: rec.bookEpoch ?? 0n,
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
