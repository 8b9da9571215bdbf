import { fromBinary } from "@bufbuild/protobuf";
import type { Redis } from "ioredis";
import { MarketUpdateSchema, type MarketUpdate } from "@quantcore/proto";
import { QuantCoreError, backoffDelayMs, nowUs, sleep } from "@quantcore/runtime";
import { SharedUpdate } from "./encoding.js";
import { toConnectError } from "./errors.js";
import { subscriptionKey } from "./mailbox.js";
import { redisKeys } from "./options.js";

export async function readState(redis: Redis, ns: string, symbols: string[]): Promise<MarketUpdate[]> {
  const key = redisKeys(ns).state;
  try {
    const values: (Buffer | null)[] =
      symbols.length === 0 ? Object.values(await redis.hgetallBuffer(key)) : await redis.hmgetBuffer(key, ...symbols);
    return values.filter((v): v is Buffer => v !== null).map((v) => fromBinary(MarketUpdateSchema, v));
  } catch (err) {
    throw toConnectError(QuantCoreError.infra("redis read", err));
  }
}

/**
 * Snapshot reads requested in the same tick share one Redis command and one decode (a connection
 * storm would otherwise read and decode the whole state once per stream). A read is only shared
 * by streams whose mailbox was registered before the command went out, so none misses an update.
 */
export class SnapshotReader {
  private queued = new Map<
    string,
    { symbols: string[]; waiters: { resolve(v: SharedUpdate[]): void; reject(e: unknown): void }[] }
  >();

  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {}

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
      readState(this.redis, this.ns, symbols).then(
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
