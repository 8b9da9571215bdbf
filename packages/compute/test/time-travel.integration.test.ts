// Where a time-travel session starts, against the real broker: the retention horizon (the log's
// first records removed, as retention does) and the warm-up offsets, from Kafka's timestamp index.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import type { Admin, Producer } from "kafkajs";
import { QuantCoreError } from "@quantcore/runtime";
import { createTopics, sharedOrOwnStack, type TestStack } from "@quantcore/stack";
import { planRead } from "../src/time-travel/plan.js";
import { kafkaOf } from "./support.js";

let stack: TestStack | undefined;
let producer: Producer;
let admin: Admin;
let brokers: string[];

before(async () => {
  stack = await sharedOrOwnStack({ redis: false });
  brokers = stack.brokers;
  producer = kafkaOf(brokers).producer();
  await producer.connect();
  admin = kafkaOf(brokers).admin();
  await admin.connect();
});
after(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await stack?.stop();
});

// Record i of a partition has timestamp T0 + i s.
const T0 = Date.parse("2026-11-30T10:00:00Z");
const at = (i: number) => T0 + i * 1000;

test("the horizon is the newest first retained record; after it, reads start at the warm-up offsets", async () => {
  const topic = `tt_${randomUUID().slice(0, 8)}`;
  await createTopics(brokers, [{ name: topic, partitions: 3 }]);
  await admin.fetchTopicMetadata({ topics: [topic] }); // this client learns the partitions' leaders
  // Partitions 0 and 1: 20 records each, one per second; partition 2 stays empty.
  for (const partition of [0, 1])
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 20 }, (_, i) => ({
        partition,
        key: "AAUSDT",
        value: Buffer.from([i]),
        timestamp: String(at(i)),
      })),
    });
  // Retention removed the first 5 records of partition 0 and the first 8 of partition 1.
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "5" }] });
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: "8" }] });

  // Before partition 1's first record (8 s): refused, naming 10:00:08 as the horizon.
  await assert.rejects(planRead(admin, topic, at(6), 3_000), (err: unknown) => {
    assert.ok(err instanceof QuantCoreError && err.kind === "failed_precondition", String(err));
    assert.match(err.message, /before the log's retention horizon 2026-11-30T10:00:08\.000Z/);
    assert.match(err.message, /partition 1\b/);
    return true;
  });
  await assert.rejects(planRead(admin, topic, at(8), 0), /retention horizon 2026-11-30T10:00:08\.000Z/);

  // Just after it: servable; reading starts 3 s earlier (the warm-up), clamped to what is retained.
  const plan = await planRead(admin, topic, at(8) + 1, 3_000);
  assert.deepEqual(
    plan.ranges.toSorted((a, b) => a.partition - b.partition),
    [
      { partition: 0, fromOffset: 6n, endOffset: 20n },
      { partition: 1, fromOffset: 8n, endOffset: 20n },
    ],
  );
  // A start after every record: nothing to replay.
  assert.deepEqual((await planRead(admin, topic, at(30), 3_000)).ranges, []);
});
