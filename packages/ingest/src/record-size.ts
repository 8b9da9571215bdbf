import type { Message } from "kafkajs";

/**
 * Kafka's record batch (magic 2) header: base offset 8, length 4, leader epoch 4, magic 1,
 * crc 4, attributes 2, last offset delta 4, first/max timestamp 16, producer id 8, epoch 2,
 * base sequence 4, record count 4.
 */
export const RECORD_BATCH_OVERHEAD_BYTES = 61;

/** Per record, at most: length, attributes, timestamp delta, offset delta, key/value lengths, header count. */
const RECORD_OVERHEAD_BYTES = 5 + 1 + 10 + 5 + 5 + 5 + 5;
/** Per header, at most: key length and value length varints. */
const HEADER_OVERHEAD_BYTES = 5 + 5;

const sizeOf = (v: Buffer | string | null | undefined): number =>
  v == null ? 0 : typeof v === "string" ? Buffer.byteLength(v) : v.byteLength;

/** Bytes of the record's headers as Kafka encodes them (an upper bound). */
export function headerBytes(headers: Message["headers"]): number {
  let n = 0;
  if (!headers) return n;
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) n += HEADER_OVERHEAD_BYTES + Buffer.byteLength(k) + sizeOf(one);
  }
  return n;
}

/**
 * An upper bound on what `m` adds to an uncompressed record batch: key, value, headers and the
 * record's own varint framing. Kafka's `message.max.bytes` applies to the whole batch of one
 * partition, so a record alone needs this plus RECORD_BATCH_OVERHEAD_BYTES.
 */
export function recordBytes(m: Message): number {
  return RECORD_OVERHEAD_BYTES + sizeOf(m.key) + sizeOf(m.value) + headerBytes(m.headers);
}

/** Room left for a value in a record that, alone in its batch, must stay within `maxBatchBytes`. */
export function valueBudgetBytes(key: Message["key"], headers: Message["headers"], maxBatchBytes: number): number {
  return maxBatchBytes - RECORD_BATCH_OVERHEAD_BYTES - RECORD_OVERHEAD_BYTES - sizeOf(key) - headerBytes(headers);
}
