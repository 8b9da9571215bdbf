// Both client libraries behind the order-book producer's seam (produce-client.ts), on a real
// broker: the same answers (each partition's base offset, what the ack log relies on) and the same
// verdict on a record Kafka refuses for good.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import net from "node:net";
import { after, before, test } from "node:test";
import { logLevel, type Message } from "kafkajs";
import { createKafka } from "@quantcore/runtime";
import { createTopics, sharedOrOwnStack, type TestStack } from "@quantcore/stack";
import { DEFAULT_INGEST_OPTIONS, KAFKA_CLIENT_LIBRARIES } from "../src/options.js";
import { createProduceClient } from "../src/produce-client.js";
import { classifyProduceError } from "../src/produce-errors.js";

let stack: TestStack | undefined;
let brokers: string[];

before(async () => {
  stack = await sharedOrOwnStack({ redis: false });
  brokers = stack.brokers;
});
after(async () => {
  await stack?.stop();
});

const msg = (symbol: string, partition: number, value: string | Buffer): Message => ({
  key: symbol,
  value: typeof value === "string" ? Buffer.from(value) : value,
  partition,
});

for (const library of KAFKA_CLIENT_LIBRARIES) {
  test(`${library}: acknowledges each partition with its base offset; a record over the broker's limit is refused for good, as a record`, async () => {
    const topic = `produce_client_${library}_${randomUUID().slice(0, 8)}`;
    await createTopics(brokers, [{ name: topic, partitions: 3 }]);
    const kafka = createKafka({ clientId: `test-${library}`, brokers, logLevel: logLevel.NOTHING });
    const client = createProduceClient(kafka, {
      ...DEFAULT_INGEST_OPTIONS,
      kafkaClient: library,
      kafkaBrokers: brokers,
    });
    assert.equal(client.library, library);
    await client.connect();
    try {
      const base = (md: { partition: number; baseOffset?: string; errorCode: number }[]) =>
        Object.fromEntries(md.map((m) => [m.partition, [m.baseOffset, m.errorCode]]));
      const first = await client.send({
        topic,
        acks: -1,
        messages: [msg("BTCUSDT", 0, "a"), msg("BTCUSDT", 0, "b"), msg("ETHUSDT", 2, "c")],
      });
      assert.deepEqual(base(first), { 0: ["0", 0], 2: ["0", 0] });
      const second = await client.send({ topic, acks: -1, messages: [msg("BTCUSDT", 0, "d"), msg("SOLUSDT", 1, "e")] });
      assert.deepEqual(base(second), { 0: ["2", 0], 1: ["0", 0] });

      // The broker's message.max.bytes is 1 MiB per partition's record batch.
      const err = await client.send({ topic, acks: -1, messages: [msg("BTCUSDT", 1, Buffer.alloc(2 << 20, 1))] }).then(
        () => assert.fail("a 2 MiB record was accepted"),
        (e: unknown) => e,
      );
      assert.deepEqual(classifyProduceError(err), { retriable: false, scope: "record", reason: "MESSAGE_TOO_LARGE" });

      // After the refusal the client still works, and nothing of the refused record was written.
      await client.refresh();
      const third = await client.send({ topic, acks: -1, messages: [msg("SOLUSDT", 1, "f")] });
      assert.deepEqual(base(third), { 1: ["1", 0] });
    } finally {
      await client.disconnect();
    }
  });
}

test("platformatic: a bootstrap broker that accepts connections but never serves (dead behind a proxy) is passed over after one failed request", async () => {
  // Accepts, then hangs up: what the fault suite's proxy in front of a killed broker does.
  const blackhole = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => blackhole.listen(0, "127.0.0.1", resolve));
  const port = (blackhole.address() as net.AddressInfo).port;
  const topic = `produce_client_rotate_${randomUUID().slice(0, 8)}`;
  await createTopics(brokers, [{ name: topic, partitions: 1 }]);
  const kafka = createKafka({ clientId: "test-rotate", brokers, logLevel: logLevel.NOTHING });
  const client = createProduceClient(kafka, {
    ...DEFAULT_INGEST_OPTIONS,
    kafkaClient: "platformatic",
    kafkaBrokers: [`127.0.0.1:${port}`, ...brokers],
  });
  try {
    const send = () => client.send({ topic, acks: -1, messages: [msg("BTCUSDT", 0, "x")] });
    const err = await send().then(
      () => assert.fail("the first request went through a broker that never answers"),
      (e: unknown) => e,
    );
    assert.deepEqual(classifyProduceError(err), { retriable: true }, "no broker answered: kept and sent again");
    const md = await send();
    assert.deepEqual(
      md.map((m) => [m.partition, m.baseOffset]),
      [[0, "0"]],
    );
  } finally {
    await client.disconnect();
    blackhole.close();
  }
});
