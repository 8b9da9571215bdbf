import type { RecordMetadata } from "kafkajs";
import { RECORD_BATCH_OVERHEAD_BYTES } from "./record-size.js";

export interface Sized {
  message: { partition?: number };
  bytes: number;
  /** Already in a request. */
  sending: boolean;
}

export interface RequestLimits {
  maxRecords: number;
  /** Kafka's limit applies per partition's record batch. */
  maxPartitionBatchBytes: number;
  maxRequestBytes: number;
}

/**
 * The records of the next produce request, in queue order. `prefix`: the head of the queue up to
 * the first record that does not fit (one request at a time). Otherwise: records of partitions
 * no request in flight holds (`busy`), each partition's in queue order, skipping a partition
 * for good once one of its records is skipped, so per-partition order holds. A first record
 * above the byte caps still goes, alone.
 */
export function selectRequest<E extends Sized>(
  queue: readonly E[],
  limits: RequestLimits,
  mode: { prefix: true } | { prefix: false; busy: ReadonlySet<number | undefined> },
): E[] {
  const blocked = new Set(mode.prefix ? [] : mode.busy);
  const perPartition = new Map<number | undefined, number>();
  const out: E[] = [];
  let total = 0;
  for (const e of queue) {
    if (out.length >= limits.maxRecords) break;
    const p = e.message.partition;
    if (!mode.prefix && (e.sending || blocked.has(p))) continue;
    const inPartition = (perPartition.get(p) ?? RECORD_BATCH_OVERHEAD_BYTES) + e.bytes;
    if (out.length > 0 && (inPartition > limits.maxPartitionBatchBytes || total + e.bytes > limits.maxRequestBytes)) {
      if (mode.prefix) break;
      blocked.add(p); // the rest of this partition waits for the next request
      continue;
    }
    perPartition.set(p, inPartition);
    total += e.bytes;
    out.push(e);
  }
  return out;
}

/**
 * Records of an explicit partition that the send's answer does not acknowledge (no entry for
 * the partition, or an error code). Records without an explicit partition cannot be matched and
 * count as acknowledged.
 */
export function unconfirmed<E extends Sized>(sent: readonly E[], metadata: readonly RecordMetadata[]): Set<E> {
  const ok = new Set(metadata.filter((m) => m.errorCode === 0).map((m) => m.partition));
  return new Set(sent.filter((e) => e.message.partition !== undefined && !ok.has(e.message.partition)));
}
