import { fromBinary } from "@bufbuild/protobuf";
import { MarketUpdateSchema, type MarketUpdate } from "@quantcore/proto";
import { QuantCoreError, backoffDelayMs, nowUs, sleep } from "@quantcore/runtime";
import { SharedUpdate } from "./encoding.js";
import { toConnectError } from "./errors.js";
import { subscriptionKey } from "./mailbox.js";
import type { StateStore } from "./state-store.js";

/** The stored state of these symbols (every symbol when empty); a symbol with none is left out. */
export async function readState(store: StateStore, symbols: string[]): Promise<MarketUpdate[]> {
  try {
    const values = symbols.length === 0 ? await store.allState() : await store.state(symbols);
    return values.filter((v): v is Uint8Array => v !== null).map((v) => fromBinary(MarketUpdateSchema, v));
  } catch (err) {
    throw toConnectError(QuantCoreError.infra("redis read", err));
  }
}

/**
 * Snapshot reads requested in the same tick share one store read and one decode (a connection
 * storm would otherwise read and decode the whole state once per stream). A read is only shared
 * by streams whose mailbox was registered before the read went out, so none misses an update.
 */
export class SnapshotReader {
  private queued = new Map<
    string,
    { symbols: string[]; waiters: { resolve(v: SharedUpdate[]): void; reject(e: unknown): void }[] }
  >();

  constructor(private readonly store: StateStore) {}

  read(symbols: string[]): Promise<SharedUpdate[]> {
    const key = subscriptionKey(symbols.length > 0 ? symbols : undefined);
    let q = this.queued.get(key);
    if (!q) {
      q = { symbols, waiters: [] };
      this.queued.set(key, q);
      if (this.queued.size === 1) queueMicrotask(() => this.issue());
    }
    const waiters = q.waiters;
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  }

  /** After an outage the command connection may still be reconnecting: retry, with backoff, until aborted. */
  async readRetrying(symbols: string[], signal: AbortSignal): Promise<SharedUpdate[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.read(symbols);
      } catch (err) {
        if (signal.aborted || attempt >= 20) throw err;
        await sleep(backoffDelayMs(attempt, { initialDelayMs: 50, maxDelayMs: 1_000, multiplier: 2 }), signal);
      }
    }
  }

  private issue(): void {
    const batch = this.queued;
    this.queued = new Map();
    for (const { symbols, waiters } of batch.values()) {
      readState(this.store, symbols).then(
        (state) => {
          const sendUs = nowUs();
          const shared = state.map((u) => {
            u.snapshot = true;
            if (u.timestamps) u.timestamps.gatewaySendUs = sendUs;
            return new SharedUpdate(u);
          });
          for (const w of waiters) w.resolve(shared);
        },
        (err: unknown) => {
          for (const w of waiters) w.reject(err);
        },
      );
    }
  }
}
