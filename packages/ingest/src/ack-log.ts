// Test-only record of what Kafka acknowledged (INGEST_ACK_LOG): one JSON line per record,
// `{t, type:"ack", symbol, epoch, id, partition, offset}`, appended with one write per produce
// request (O_APPEND, so the shards of one supervisor can share a file). The fault suite checks
// every line against the topic; nothing else reads it. Off unless a path is given.
import { closeSync, openSync, writeSync } from "node:fs";
import type { Message, RecordMetadata } from "kafkajs";
import { decodeBookUpdate } from "@quantcore/proto";

export type AckListener = (messages: Message[], metadata: RecordMetadata[]) => void;

export interface AckLog {
  onAcked: AckListener;
  close(): void;
}

/**
 * Offsets: within one request the records of a partition are appended in order from the
 * partition's `baseOffset`, so the k-th record sent to partition p sits at baseOffset(p) + k.
 */
export function openAckLog(file: string): AckLog {
  const fd = openSync(file, "a");
  let open = true;
  return {
    onAcked(messages, metadata) {
      if (!open) return;
      const base = new Map(metadata.map((m) => [m.partition, m.baseOffset]));
      const nth = new Map<number, number>();
      const t = Date.now();
      let out = "";
      for (const m of messages) {
        const p = m.partition ?? -1;
        const k = nth.get(p) ?? 0;
        nth.set(p, k + 1);
        const b = base.get(p);
        const value = m.value;
        if (!(value instanceof Uint8Array)) continue;
        const f = decodeBookUpdate(value);
        const offset = b === undefined || b === "-1" ? undefined : String(BigInt(b) + BigInt(k));
        out += JSON.stringify({
          t,
          type: "ack",
          symbol: f.symbol,
          epoch: String(f.bookEpoch ?? 0n),
          id: String(f.updateId),
          partition: p,
          ...(offset === undefined ? {} : { offset }),
        });
        out += "\n";
      }
      if (out) writeSync(fd, out);
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
