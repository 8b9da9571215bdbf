import type { Admin } from "kafkajs";
import { QuantCoreError } from "@quantcore/runtime";

/** One partition to read: from `fromOffset` (warm-up start) up to, not including, `endOffset`. */
export interface PartitionRange {
  partition: number;
  fromOffset: bigint;
  endOffset: bigint;
}

export interface PartitionOffsets {
  partition: number;
  /** First retained offset. */
  low: bigint;
  /** Next offset to be written (the end taken for the session). */
  high: bigint;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Partitions whose whole retained log is at or after `startMs` (the first offset at or after
 * the start is the log's first offset, and the log is not empty): the start is not servable
 * from them. Pure: `atStart` is the first offset with a timestamp >= startMs per partition.
 */
export function partitionsBeforeHorizon(offsets: PartitionOffsets[], atStart: Map<number, bigint>): number[] {
  return offsets.filter((o) => o.high > o.low && atStart.get(o.partition) === o.low).map((o) => o.partition);
}

/** The ranges to read: from the warm-up offset (clamped to the log) to the end; empty ones left out. */
export function rangesToRead(offsets: PartitionOffsets[], atWarmup: Map<number, bigint>): PartitionRange[] {
  const out: PartitionRange[] = [];
  for (const o of offsets) {
    let from = atWarmup.get(o.partition) ?? o.high;
    if (from < o.low) from = o.low;
    if (from < o.high) out.push({ partition: o.partition, fromOffset: from, endOffset: o.high });
  }
  return out;
}

async function offsetsAt(admin: Admin, topic: string, timeMs: number): Promise<Map<number, bigint>> {
  const r = await admin.fetchTopicOffsetsByTimestamp(topic, Math.max(0, Math.floor(timeMs)));
  return new Map(r.map((p) => [p.partition, BigInt(p.offset)]));
}

/**
 * The retention horizon: the newest first-retained-record time over the partitions in
 * `partitions` (a start after it is servable from every partition), found by bisecting the
 * broker's timestamp index between `fromMs` and `toMs` (about 40 lookups; only on rejection).
 */
export async function findHorizonMs(
  admin: Admin,
  topic: string,
  offsets: PartitionOffsets[],
  partitions: number[],
  fromMs: number,
  toMs: number,
): Promise<number> {
  const lows = new Map(offsets.map((o) => [o.partition, o.low]));
  const anyAtLow = async (t: number) => {
    const at = await offsetsAt(admin, topic, t);
    return partitions.some((p) => at.get(p) === lows.get(p));
  };
  let lo = Math.floor(fromMs); // anyAtLow(lo) holds (the caller found it so)
  let hi = Math.ceil(toMs);
  if (await anyAtLow(hi)) return hi;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await anyAtLow(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export interface ReadPlan {
  offsets: PartitionOffsets[];
  ranges: PartitionRange[];
}

/**
 * Takes the end offsets (now: after the gateway subscribed live) and where to start reading;
 * FAILED_PRECONDITION naming the horizon when the log no longer holds the start.
 */
export async function planRead(admin: Admin, topic: string, startMs: number, warmupMs: number): Promise<ReadPlan> {
  const watermarks = await admin.fetchTopicOffsets(topic);
  const offsets: PartitionOffsets[] = watermarks.map((w) => ({
    partition: w.partition,
    low: BigInt(w.low),
    high: BigInt(w.high),
  }));
  const early = partitionsBeforeHorizon(offsets, await offsetsAt(admin, topic, startMs));
  if (early.length > 0) {
    const horizonMs = await findHorizonMs(admin, topic, offsets, early, startMs, Date.now());
    throw new QuantCoreError(
      "failed_precondition",
      `start ${iso(startMs)} is before the log's retention horizon ${iso(horizonMs)} ` +
        `(the first record still held by partition${early.length > 1 ? "s" : ""} ${early.slice(0, 5).join(", ")}); ` +
        `start after ${iso(horizonMs)}`,
      { retriable: false },
    );
  }
  return { offsets, ranges: rangesToRead(offsets, await offsetsAt(admin, topic, startMs - warmupMs)) };
}
