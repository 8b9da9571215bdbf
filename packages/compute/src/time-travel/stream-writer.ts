import type { Redis } from "ioredis";
import {
  QuantCoreError,
  TIME_TRAVEL_UPDATES_PER_ENTRY,
  sleep,
  timeTravelKeys,
  type TimeTravelEntryType,
} from "@quantcore/runtime";

/** While a session waits (pacing, rate cap), a `tick` entry at least this often. */
export const TICK_INTERVAL_MS = 5_000;

/** The session was abandoned: the gateway stopped reading (client or gateway gone). */
export class SessionAbandoned extends Error {
  constructor() {
    super("the gateway stopped reading the session");
  }
}

/** MarketUpdateBatch.updates: field 1, length-delimited. */
const BATCH_UPDATE_TAG = 0x0a;

/** The length-delimited field prefix (tag, varint length) of one update in an `updates` entry. */
function fieldPrefix(length: number): Buffer {
  const out = [BATCH_UPDATE_TAG];
  while (length > 0x7f) {
    out.push((length % 128) | 0x80);
    length = Math.floor(length / 128);
  }
  out.push(length);
  return Buffer.from(out);
}

/**
 * Writes one session's entries to its Redis stream (`<ns>:tt:<session>`), in chunks, and holds
 * the replay back while the gateway is more than `maxAheadEntries` updates behind (the gateway
 * trims what it read) or gone (its `alive` key expired or was deleted). Updates go in `updates`
 * entries of up to TIME_TRAVEL_UPDATES_PER_ENTRY: one command per entry, not per update, for the
 * worker, Redis and the gateway alike.
 */
export class SessionStreamWriter {
  private readonly key: string;
  private readonly aliveKey: string;
  private pending: [TimeTravelEntryType, Buffer | string][] = [];
  /** Updates in `pending` entries, and the `updates` entry being filled. */
  private pendingUpdates = 0;
  private batch: Uint8Array[] = [];
  private batchUpdates = 0;
  private lastAliveCheckMs = 0;
  private lastWriteMs = Date.now();
  written = 0;

  constructor(
    private readonly redis: Redis,
    namespace: string,
    session: string,
    private readonly o: { maxAheadEntries: number; streamTtlMs: number; aliveCheckIntervalMs: number },
    private readonly signal: AbortSignal,
    /** Called while waiting (e.g. the Kafka consumer's heartbeat). */
    private readonly whileWaiting: () => Promise<void> = async () => {},
  ) {
    const keys = timeTravelKeys(namespace);
    this.key = keys.stream(session);
    this.aliveKey = keys.alive(session);
  }

  /** An entry of its own (after the updates added before it). */
  add(type: TimeTravelEntryType, data: Buffer | string): void {
    this.closeBatch();
    this.pending.push([type, data]);
  }

  /** One replayed update (MarketUpdate bytes), into the `updates` entry being filled. */
  addUpdate(bytes: Uint8Array): void {
    this.batch.push(fieldPrefix(bytes.length), bytes);
    if (++this.batchUpdates >= TIME_TRAVEL_UPDATES_PER_ENTRY) this.closeBatch();
  }

  /** Updates not written yet. */
  size(): number {
    return this.pendingUpdates + this.batchUpdates;
  }

  private closeBatch(): void {
    if (this.batchUpdates === 0) return;
    this.pending.push(["updates", Buffer.concat(this.batch)]);
    this.pendingUpdates += this.batchUpdates;
    this.batch = [];
    this.batchUpdates = 0;
  }

  /** Writes what is pending, after waiting for room. */
  async flush(): Promise<void> {
    this.closeBatch();
    if (this.pending.length === 0) {
      await this.checkAlive();
      return;
    }
    await this.waitForRoom();
    const entries = this.pending;
    this.pending = [];
    this.pendingUpdates = 0;
    const p = this.redis.pipeline();
    for (const [t, d] of entries) p.xadd(this.key, "*", "t", t, "d", d);
    p.pexpire(this.key, this.o.streamTtlMs);
    await this.exec(p);
    this.written += entries.length;
    this.lastWriteMs = Date.now();
  }

  /** Throws SessionAbandoned when the gateway's alive key is gone (checked at most every aliveCheckIntervalMs). */
  async checkAlive(force = false): Promise<void> {
    const now = Date.now();
    if (!force && now - this.lastAliveCheckMs < this.o.aliveCheckIntervalMs) return;
    this.lastAliveCheckMs = now;
    const alive = await this.call(() => this.redis.exists(this.aliveKey));
    if (alive === 0) throw new SessionAbandoned();
  }

  /**
   * Waits while the stream holds more than maxAheadEntries updates (bounded memory in Redis),
   * counting each unread entry as a full `updates` entry.
   */
  private async waitForRoom(): Promise<void> {
    for (;;) {
      this.signal.throwIfAborted();
      await this.checkAlive();
      const len = await this.call(() => this.redis.xlen(this.key));
      if (len * TIME_TRAVEL_UPDATES_PER_ENTRY + this.pendingUpdates <= this.o.maxAheadEntries || len === 0) return;
      await this.whileWaiting();
      await sleep(20);
    }
  }

  /** Waits `ms` in short steps, staying responsive to abort and abandonment. */
  async pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    for (let left = ms; left > 0; left = until - Date.now()) {
      this.signal.throwIfAborted();
      await this.checkAlive();
      await this.whileWaiting();
      // The gateway takes silence for a dead worker: a tick now and then while pacing.
      if (Date.now() - this.lastWriteMs >= TICK_INTERVAL_MS) {
        this.add("tick", "");
        await this.flush();
      }
      await sleep(Math.min(left, 200));
    }
  }

  /** Removes the session's keys (used when the session is abandoned). */
  async remove(): Promise<void> {
    await this.call(() => this.redis.del(this.key, this.aliveKey));
  }

  private async exec(p: ReturnType<Redis["pipeline"]>): Promise<void> {
    const res = await this.call(() => p.exec());
    const failed = res?.find(([err]) => err);
    if (failed?.[0]) throw QuantCoreError.infra(`redis write ${this.key}`, failed[0]);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw QuantCoreError.infra(`redis ${this.key}`, err);
    }
  }
}
