import type { Consumer } from "kafkajs";
import { createLogger } from "@quantcore/runtime";

const log = createLogger("compute.offsets");

/**
 * What this instance has written to Redis, per partition, and its commits to Kafka. A commit
 * first stores the OFI trackers (`beforeCommit`), so a successor that starts from a committed
 * offset restores windows that already count every record before it. Only partitions this
 * instance is assigned are committed.
 */
export class OffsetTracker {
  private readonly progress = new Map<number, bigint>();
  private readonly committed = new Map<number, bigint>();
  private readonly highWatermarks = new Map<number, bigint>();
  /** Where the group stands per partition by the broker (LagProbe): for partitions not fetched yet. */
  private readonly groupPositions = new Map<number, bigint>();
  private assigned = new Set<number>();
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly topic: string,
    private readonly consumer: () => Consumer | undefined,
    private readonly beforeCommit: () => Promise<void>,
  ) {}

  /** A (re)join: forget what we held, so we never commit a partition we no longer own. */
  assign(partitions: number[]): void {
    this.assigned = new Set(partitions);
    this.progress.clear();
    this.committed.clear();
  }

  partitions(): number[] {
    return [...this.assigned].sort((a, b) => a - b);
  }

  /** Next offset to process per partition, for what this instance has written to Redis. */
  written(): ReadonlyMap<number, bigint> {
    return this.progress;
  }

  /** Records written up to `nextOffset`; a partition's first progress is committed at once. */
  advance(partition: number, nextOffset: bigint): void {
    if (nextOffset <= (this.progress.get(partition) ?? -1n)) return;
    this.progress.set(partition, nextOffset);
    // Until its first commit, a takeover would start the partition from the reset policy.
    if (!this.committed.has(partition)) void this.commit();
  }

  observeHighWatermark(partition: number, hw: bigint): void {
    if (hw > (this.highWatermarks.get(partition) ?? -1n)) this.highWatermarks.set(partition, hw);
  }

  /**
   * The group's position in a partition as the broker has it (its committed offset, or where a
   * never-committed partition starts): counts for lag until this instance wrote progress there.
   */
  observeGroupPosition(partition: number, offset: bigint): void {
    this.groupPositions.set(partition, offset);
  }

  /** Per assigned partition whose high watermark is known: records the broker holds and Redis does not yet have. */
  partitionLag(): { partition: number; lag: number }[] {
    const out: { partition: number; lag: number }[] = [];
    for (const p of this.partitions()) {
      const hw = this.highWatermarks.get(p);
      const done = this.progress.get(p) ?? this.committed.get(p) ?? this.groupPositions.get(p);
      if (hw === undefined || done === undefined) continue;
      out.push({ partition: p, lag: hw > done ? Number(hw - done) : 0 });
    }
    return out;
  }

  /** Records in assigned partitions that the broker holds and Redis does not yet have. */
  lag(): number {
    return this.partitionLag().reduce((sum, p) => sum + p.lag, 0);
  }

  /** Commits written progress (one commit in flight at a time; stop() waits for it). */
  commit(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const c = this.consumer();
    const due = [...this.progress].filter(([p, next]) => this.assigned.has(p) && next > (this.committed.get(p) ?? -1n));
    if (!c || due.length === 0) return Promise.resolve();
    this.inFlight = (async () => {
      try {
        await this.beforeCommit();
        await c.commitOffsets(
          due.map(([partition, next]) => ({ topic: this.topic, partition, offset: next.toString() })),
        );
        for (const [p, next] of due) if (this.assigned.has(p)) this.committed.set(p, next);
      } catch (err) {
        // A rebalance in progress, or the broker or Redis away: the next tick retries.
        log.debug("offset commit deferred", { err: err instanceof Error ? err.message : String(err) });
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  /** The commit in flight, if any (a kafkajs request in flight at disconnect leaks a socket). */
  settled(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }
}
