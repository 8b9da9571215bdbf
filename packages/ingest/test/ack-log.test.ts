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

test("a send that resolves without some partitions' acknowledgement (kafkajs after a leader change) re-sends those records; only acknowledged ones are logged", async () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "acklog-")), "acks.jsonl");
  const log = openAckLog(file);
  const requests: number[][] = [];
  const producer = {
    send: async (r: ProducerRecord): Promise<RecordMetadata[]> => {
      await new Promise((resolve) => setImmediate(resolve));
      const parts = [...new Set(r.messages.map((m) => m.partition!))];
      requests.push(parts);
      // The first answer leaves partition 2 out, as kafkajs's retry does when its leader moved
      // to a broker that had already answered.
      const answered = requests.length === 1 ? parts.filter((p) => p !== 2) : parts;
      return answered.map((p) => ({
        topicName: "t",
        partition: p,
        errorCode: 0,
        baseOffset: String(10 * requests.length),
      }));
    },
  } as unknown as Producer;
  const batcher = new BatchingProducer(producer, "t", { onAcked: log.onAcked }, () => {});
  batcher.enqueue({ symbol: "BTCUSDT", message: record("BTCUSDT", 11, 1) });
  batcher.enqueue({ symbol: "ETHUSDT", message: record("ETHUSDT", 21, 2) });
  batcher.enqueue({ symbol: "ETHUSDT", message: record("ETHUSDT", 22, 2) });
  await batcher.flush();
  log.close();
  assert.deepEqual(requests, [[1, 2], [2]]);
  assert.equal(batcher.stats.sent, 3);
  assert.equal(batcher.stats.unconfirmed, 2);
  const lines = readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { id: string; offset: string });
  assert.deepEqual(
    lines.map((l) => [l.id, l.offset]),
    [
      ["11", "10"],
      ["21", "20"],
      ["22", "21"],
    ],
  );
});
