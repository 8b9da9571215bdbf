// The test-only ack log: a line per record of each acknowledged request, with the offset Kafka
// gave it (the partition's base offset + its place among that partition's records), nothing for
// a failed request.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { Message, Producer, ProducerRecord, RecordMetadata } from "kafkajs";
import { BookUpdateKind, encodeBookUpdate } from "@quantcore/proto";
import { openAckLog } from "../src/ack-log.js";
import { BatchingProducer } from "../src/producer.js";

const record = (symbol: string, id: number, partition: number): Message => ({
  key: symbol,
  partition,
  value: Buffer.from(
    encodeBookUpdate({
      symbol,
      kind: BookUpdateKind.UPDATE,
      updateId: BigInt(id),
      firstUpdateId: BigInt(id),
      exchangeEventTimeMs: 0,
      ingestReceiveTimeUs: 0,
      ingestProduceTimeUs: 0,
      bids: [],
      asks: [],
      shardId: 0,
      bookEpoch: 7n,
    }),
  ),
});

test("BatchingProducer hands each acknowledged request to the ack log, which writes symbol, epoch, id, partition and offset", async () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "acklog-")), "acks.jsonl");
  const log = openAckLog(file);
  let fail = true;
  const producer = {
    send: async (r: ProducerRecord): Promise<RecordMetadata[]> => {
      await new Promise((resolve) => setImmediate(resolve));
      if (fail) {
        fail = false;
        throw Object.assign(new Error("broker down"), { retriable: true });
      }
      const parts = [...new Set(r.messages.map((m) => m.partition!))];
      return parts.map((p) => ({ topicName: "t", partition: p, errorCode: 0, baseOffset: String(100 * p + 5) }));
    },
  } as unknown as Producer;
  const batcher = new BatchingProducer(producer, "t", { retryInitialDelayMs: 1, onAcked: log.onAcked }, () => {});
  batcher.enqueue({ symbol: "BTCUSDT", message: record("BTCUSDT", 11, 1) });
  batcher.enqueue({ symbol: "ETHUSDT", message: record("ETHUSDT", 21, 2) });
  batcher.enqueue({ symbol: "BTCUSDT", message: record("BTCUSDT", 12, 1) });
  await batcher.flush();
  log.close();
  const lines = readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map(({ t: _t, ...rest }) => rest),
    [
      { type: "ack", symbol: "BTCUSDT", epoch: "7", id: "11", partition: 1, offset: "105" },
      { type: "ack", symbol: "ETHUSDT", epoch: "7", id: "21", partition: 2, offset: "205" },
      { type: "ack", symbol: "BTCUSDT", epoch: "7", id: "12", partition: 1, offset: "106" },
    ],
  );
});
