import { encodeMarketUpdate, type BookUpdateFields } from "@quantcore/proto";
import { QuantCoreError, backoffDelayMs, createLogger, nowUs, sleep } from "@quantcore/runtime";
import type { RedisStateWriter, StateWrite } from "./redis-writer.js";
import { isNewer, type SignalEngine } from "./signals.js";

const log = createLogger("compute.flush");

/** Records of one fetched batch, decoded, waiting for their Redis write. */
export interface FetchedBatch {
  partition: number;
  /** Offset after the batch's last record: what may be committed once it is written. */
  nextOffset: bigint;
  records: BookUpdateFields[];
  receiveUs: number;
}

export interface FlushStats {
  batches: number;
  writesAttempted: number;
  writesApplied: number;
  /** Updates not written because a newer one of the same symbol was in the same write. */
  writesSavedByDedup: number;
  redisRetries: number;
}

/**
 * Decouples consumption from Redis: fetched batches are queued at once (the consumer fetches
 * again immediately) and written by one loop, one Redis call at a time; each call takes every
 * batch that arrived while the previous one was in flight, across all partitions, so the
 * write rate follows Redis's round trip rather than the number of batches. Every record feeds
 * OFI in arrival order; only the newest (epoch, id) of each symbol in a write is published.
 * A partition's progress moves only after Redis acknowledged the write holding its records.
 */
export class StateFlusher {
  private queue: FetchedBatch[] = [];
  private queuedRecords = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  private drained: Array<() => void> = [];
  readonly stats: FlushStats = {
    batches: 0,
    writesAttempted: 0,
    writesApplied: 0,
    writesSavedByDedup: 0,
    redisRetries: 0,
  };

  constructor(
    private readonly writer: RedisStateWriter,
    private readonly engine: SignalEngine,
    private readonly hooks: {
      /** Batches fully written: their partitions may commit up to `nextOffset`. */
      onWritten(batches: FetchedBatch[], writes: StateWrite[]): void;
      /** Symbols not seen yet: load their stored OFI before their first record is counted. */
      restoreOfi(symbols: string[]): Promise<void>;
    },
  ) {}

  /** Records waiting for (or in) a Redis write. */
  pendingRecords(): number {
    return this.queuedRecords;
  }

  add(batch: FetchedBatch): void {
    this.queue.push(batch);
    this.queuedRecords += batch.records.length;
    this.running ??= this.run().finally(() => (this.running = undefined));
  }

  /** Resolves once at most `maxRecords` are pending (at once when already so). */
  async whenBelow(maxRecords: number): Promise<void> {
    while (this.queuedRecords > maxRecords && !this.stopped) {
      await new Promise<void>((resolve) => this.drained.push(resolve));
    }
  }

  /** Stops retrying; what is not yet written stays unacknowledged (offsets do not pass it). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const resolve of this.drained.splice(0)) resolve();
    await this.running;
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const batches = this.queue;
      this.queue = [];
      const count = batches.reduce((n, b) => n + b.records.length, 0);
      const writes = await this.prepare(batches);
      if (!(await this.writeUntilAcked(writes))) return;
      this.queuedRecords -= count;
      this.stats.batches += batches.length;
      this.hooks.onWritten(batches, writes);
      for (const resolve of this.drained.splice(0)) resolve();
    }
  }

  private async prepare(batches: FetchedBatch[]): Promise<StateWrite[]> {
    const unseen = new Set<string>();
    for (const b of batches) for (const r of b.records) if (!this.engine.has(r.symbol)) unseen.add(r.symbol);
    if (unseen.size > 0) await this.hooks.restoreOfi([...unseen]);
    // Only the newest (epoch, id) of each symbol is written (the first of equals: the one OFI counts).
    const newest = new Map<string, { rec: BookUpdateFields; ofi: number[] | undefined; receiveUs: number }>();
    for (const b of batches) {
      for (const rec of b.records) {
        const prev = newest.get(rec.symbol);
        if (prev) this.stats.writesSavedByDedup++;
        if (!prev || isNewer(rec.bookEpoch ?? 0n, rec.updateId, prev.rec.bookEpoch ?? 0n, prev.rec.updateId))
          newest.set(rec.symbol, { rec, ofi: undefined, receiveUs: b.receiveUs });
      }
    }
    // Every record feeds OFI in arrival order; the windows are summed only for the record written.
    for (const b of batches) {
      for (const rec of b.records) {
        const chosen = newest.get(rec.symbol)!;
        const ofi = this.engine.trackOfi(rec, chosen.rec === rec);
        if (chosen.rec === rec) chosen.ofi = ofi;
      }
    }
    const publishUs = nowUs();
    const writes: StateWrite[] = [];
    for (const { rec, ofi, receiveUs } of newest.values()) {
      const u = this.engine.toUpdate(rec, ofi, receiveUs);
      if (u.timestamps) u.timestamps.computePublishUs = publishUs;
      writes.push({
        symbol: u.symbol,
        epoch: rec.bookEpoch ?? 0n,
        updateId: u.updateId,
        payload: encodeMarketUpdate(u),
      });
    }
    this.stats.writesAttempted += writes.length;
    return writes;
  }

  /** Retries retriable failures with backoff until Redis acknowledges (or stop). */
  private async writeUntilAcked(writes: StateWrite[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.stats.writesApplied += await this.writer.write(writes);
        return true;
      } catch (err) {
        const e = err instanceof QuantCoreError ? err : QuantCoreError.infra("redis", err);
        if (!e.retriable || this.stopped) {
          if (!e.retriable) log.error("redis write failed for good; stopping writes", { err: e.message });
          return false;
        }
        this.stats.redisRetries++;
        const delayMs = backoffDelayMs(attempt, { initialDelayMs: 50, maxDelayMs: 2_000, multiplier: 2 });
        log.warn("redis write failed; retrying without committing", { err: e.message, delayMs });
        await sleep(delayMs);
      }
    }
  }
}
