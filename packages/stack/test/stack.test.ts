import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { Redis } from "ioredis";
import { isAlive, startRedis, startStack } from "../src/index.js";

test("startRedis serves, and stop() leaves no process behind", async () => {
  const r = await startRedis();
  try {
    const c = new Redis(r.url);
    await c.set("k", "v");
    assert.equal(await c.get("k"), "v");
    c.disconnect();
  } finally {
    await r.stop();
  }
  assert.equal(isAlive(r.pid), false);
});

test("startStack: a KRaft broker with order_book on 30 partitions that kafkajs can produce to and consume from", async () => {
  const stack = await startStack();
  try {
    const kafka = new Kafka({ clientId: "stack-test", brokers: stack.kafka!.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const md = await admin.fetchTopicMetadata({ topics: ["order_book"] });
    assert.equal(md.topics[0]!.partitions.length, 30);
    await admin.disconnect();

    const producer = kafka.producer();
    await producer.connect();
    const value = randomUUID();
    await producer.send({ topic: "order_book", acks: -1, messages: [{ key: "BTCUSDT", value, partition: 7 }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topic: "order_book", fromBeginning: true });
    const got = await new Promise<{ partition: number; value: string }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => resolve({ partition, value: message.value!.toString() }),
      });
    });
    await consumer.disconnect();
    assert.deepEqual(got, { partition: 7, value });
    assert.equal(stack.env().KAFKA_BROKERS, stack.kafka!.brokers.join(","));
  } finally {
    await stack.stop();
  }
  assert.equal(isAlive(stack.kafka!.pid), false);
  assert.equal(isAlive(stack.redis!.pid), false);
});
