// BatchingProducer against a stand-in kafkajs producer that fails the way kafkajs does (the
// real broker is exercised by the integration test's oversize flood).
import assert from "node:assert/strict";
import { test } from "node:test";
import kafkajs, { type Message, type Producer, type ProducerRecord } from "kafkajs";
import { waitFor } from "@quantcore/runtime";
import { BatchingProducer } from "../src/producer.js";
import { classifyProduceError } from "../src/produce-errors.js";
import { RECORD_BATCH_OVERHEAD_BYTES, recordBytes } from "../src/record-size.js";

// kafkajs is CommonJS and spreads its error classes into its exports: reach them through the default export.
const { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } =
  kafkajs;

/** How kafkajs's retrier wraps an error it gives up on (its typings omit the options argument). */
const nonRetriable = (e: Error) =>
  new (KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause: Error }) => Error)(e, { cause: e });

const protocolError = (type: string, retriable: boolean) =>
  new KafkaJSProtocolError({ type, code: 0, retriable, message: type } as unknown as Error);

/** What kafkajs throws after its own retries: bailed (non-retriable) or out of retries. */
const asSent = (e: Error) =>
  (e as { retriable?: boolean }).retriable === false
    ? e
    : new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 1000 });

/** A fake kafkajs producer: `fail` decides per request; accepted messages are kept in order. */
function fakeProducer(fail: (messages: Message[]) => Error | undefined) {
  const delivered: string[] = [];
  const requests: Message[][] = [];
  const producer = {
    send: async (r: ProducerRecord) => {
      requests.push(r.messages);
      await new Promise((resolve) => setImmediate(resolve));
      const err = fail(r.messages);
      if (err) throw asSent(err);
      for (const m of r.messages) delivered.push(String(m.value));
      // As kafkajs answers acks=all: one entry per partition written.
      return [...new Set(r.messages.map((m) => m.partition ?? 0))].map((partition) => ({
        topicName: r.topic,
        partition,
        errorCode: 0,
        baseOffset: "0",
      }));
    },
  } as unknown as Producer;
  return { producer, delivered, requests };
}

const msg = (value: string, partition = 0): Message => ({ key: "K", value: Buffer.from(value), partition });

test("classifies kafkajs errors: record-level refusals, batch-wide refusals, and everything else retriable", () => {
  const cases: Array<[unknown, ReturnType<typeof classifyProduceError>]> = [
    [protocolError("MESSAGE_TOO_LARGE", false), { retriable: false, scope: "record", reason: "MESSAGE_TOO_LARGE" }],
    [
      nonRetriable(protocolError("INVALID_RECORD", false)),
      { retriable: false, scope: "record", reason: "INVALID_RECORD" },
    ],
    [asSent(protocolError("CORRUPT_MESSAGE", true)), { retriable: false, scope: "record", reason: "CORRUPT_MESSAGE" }],
    [
      protocolError("RECORD_LIST_TOO_LARGE", false),
      { retriable: false, scope: "record", reason: "RECORD_LIST_TOO_LARGE" },
    ],
    [
      protocolError("TOPIC_AUTHORIZATION_FAILED", false),
      { retriable: false, scope: "batch", reason: "TOPIC_AUTHORIZATION_FAILED" },
    ],
    [
      protocolError("INVALID_REQUIRED_ACKS", false),
      { retriable: false, scope: "batch", reason: "INVALID_REQUIRED_ACKS" },
    ],
    [asSent(protocolError("NOT_LEADER_FOR_PARTITION", true)), { retriable: true }],
    [asSent(protocolError("REQUEST_TIMED_OUT", true)), { retriable: true }],
    [asSent(new KafkaJSConnectionError("Connection closed")), { retriable: true }],
    [new Error("anything else"), { retriable: true }],
  ];
  for (const [err, want] of cases) assert.deepEqual(classifyProduceError(err), want, String(err));
});

test("a record Kafka refuses for good is isolated and dropped alone, counted; the rest is delivered in order", async () => {
  const fake = fakeProducer((ms) =>
    ms.some((m) => String(m.value).startsWith("big")) ? protocolError("MESSAGE_TOO_LARGE", false) : undefined,
  );
  const lost: string[] = [];
  const p = new BatchingProducer(fake.producer, "t", { minSendIntervalMs: 0 }, (s) => lost.push(s));
  const values = Array.from({ length: 40 }, (_, i) => (i === 13 || i === 29 ? `big${i}` : `r${i}`));
  for (const v of values) assert.ok(p.enqueue({ symbol: v, message: msg(v) }));
  await waitFor(() => p.backlog() === 0, "queue drained", { timeoutMs: 10_000 });
  assert.deepEqual(
    fake.delivered,
    values.filter((v) => !v.startsWith("big")),
  );
  assert.deepEqual(lost, ["big13", "big29"]);
  assert.deepEqual(p.stats.dropped, { MESSAGE_TOO_LARGE: 2 });
  // Isolation halves the batch: a few dozen requests, not one per record forever.
  assert.ok(fake.requests.length < 40, `${fake.requests.length} requests`);
  // Back to whole batches afterwards.
  for (let i = 0; i < 10; i++) p.enqueue({ symbol: "x", message: msg(`after${i}`) });
  await waitFor(() => p.backlog() === 0, "queue drained", { timeoutMs: 10_000 });
  assert.equal(fake.requests.at(-1)!.length, 10);
});

test("a batch-wide refusal (authorization) drops that batch, never retries it; retriable errors keep every record", async () => {
  let failures = 0;
  const fake = fakeProducer((ms) => {
    if (String(ms[0]!.value) === "denied") return protocolError("TOPIC_AUTHORIZATION_FAILED", false);
    if (failures < 3) return (failures++, new KafkaJSConnectionError("Connection closed"));
    return undefined;
  });
  const lost: string[] = [];
  const p = new BatchingProducer(
    fake.producer,
    "t",
    { minSendIntervalMs: 0, retryInitialDelayMs: 5, retryMaxDelayMs: 20 },
    (s) => lost.push(s),
  );
  for (let i = 0; i < 5; i++) p.enqueue({ symbol: "a", message: msg(`a${i}`) });
  await p.flush();
  assert.deepEqual(fake.delivered, ["a0", "a1", "a2", "a3", "a4"], "kept across 3 connection failures");
  assert.equal(p.stats.sendErrors, 3);
  p.enqueue({ symbol: "d", message: msg("denied") });
  await p.flush();
  assert.deepEqual(lost, ["d"]);
  assert.deepEqual(p.stats.dropped, { TOPIC_AUTHORIZATION_FAILED: 1 });
  const requestsBefore = fake.requests.length;
  p.enqueue({ symbol: "a", message: msg("a5") });
  await p.flush();
  assert.equal(fake.requests.length, requestsBefore + 1, "the refused batch is not sent again");
});

test("requests are capped in bytes, per partition and in total; one record above the cap still goes, alone", async () => {
  const fake = fakeProducer(() => undefined);
  const maxPartitionBatchBytes = 10_000;
  const maxRequestBytes = 25_000;
  const p = new BatchingProducer(
    fake.producer,
    "t",
    { minSendIntervalMs: 0, maxPartitionBatchBytes, maxRequestBytes },
    () => {},
  );
  const x = (n: number) => "x".repeat(n);
  // 3 partitions of ~1 KB records, then one 30 KB record.
  for (let i = 0; i < 120; i++) p.enqueue({ symbol: "s", message: msg(x(1_000) + i, i % 3) });
  p.enqueue({ symbol: "s", message: msg(x(30_000), 1) });
  await p.flush();
  assert.equal(fake.delivered.length, 121);
  for (const req of fake.requests) {
    const total = req.reduce((a, m) => a + recordBytes(m), 0);
    if (req.length === 1) continue;
    assert.ok(total <= maxRequestBytes, `request of ${total} bytes`);
    for (const part of [0, 1, 2]) {
      const bytes = req.filter((m) => m.partition === part).reduce((a, m) => a + recordBytes(m), 0);
      assert.ok(bytes + RECORD_BATCH_OVERHEAD_BYTES <= maxPartitionBatchBytes, `partition ${part}: ${bytes} bytes`);
    }
  }
  assert.equal(fake.requests.at(-1)!.length, 1, "the oversize record alone");
  assert.ok(fake.requests.length >= 120_000 / maxRequestBytes, "the cap split the backlog");
});

test("the queue is bounded in bytes as well as in count", () => {
  const fake = fakeProducer(() => undefined);
  const refused: string[] = [];
  const p = new BatchingProducer(fake.producer, "t", { maxQueuedBytes: 5_000 }, (s) => refused.push(s));
  let accepted = 0;
  for (let i = 0; i < 10; i++) if (p.enqueue({ symbol: `s${i}`, message: msg("y".repeat(1_000)) })) accepted++;
  assert.equal(accepted, 4);
  assert.ok(p.backlogBytes() <= 5_000);
  assert.deepEqual(refused, ["s4", "s5", "s6", "s7", "s8", "s9"]);
  return p.flush();
});

test("several requests in flight, never two for one partition; per-partition order holds through failures", async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const held = new Map<number | undefined, number>();
  const delivered: Message[] = [];
  let n = 0;
  const producer = {
    send: async (r: ProducerRecord) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const parts = new Set(r.messages.map((m) => m.partition));
      for (const p of parts) {
        assert.ok(!held.has(p), `two requests in flight for partition ${p}`);
        held.set(p, 1);
      }
      try {
        await new Promise((resolve) => setTimeout(resolve, (n * 7) % 4));
        // Every 5th request fails the way a dropped connection does (retriable).
        if (++n % 5 === 0) throw asSent(new KafkaJSConnectionError("Connection closed"));
        delivered.push(...r.messages);
        return [...parts].map((partition) => ({ topicName: r.topic, partition, errorCode: 0, baseOffset: "0" }));
      } finally {
        for (const p of parts) held.delete(p);
        inFlight--;
      }
    },
  } as unknown as Producer;
  const p = new BatchingProducer(
    producer,
    "t",
    { minSendIntervalMs: 0, maxInFlightRequests: 4, retryInitialDelayMs: 1, retryMaxDelayMs: 5 },
    () => {},
  );
  const total = 600;
  // Bursts of one partition each, one event-loop turn apart (as book updates arrive).
  for (let i = 0; i < total; i++) {
    p.enqueue({ symbol: "s", message: msg(String(i), Math.floor(i / 5) % 6) });
    if (i % 5 === 4) await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor(() => delivered.length === total, "every record delivered", { timeoutMs: 60_000 });
  await p.flush();
  assert.ok(maxInFlight > 1, `requests overlapped (max ${maxInFlight} in flight)`);
  for (let part = 0; part < 6; part++) {
    const got = delivered.filter((m) => m.partition === part).map((m) => Number(String(m.value)));
    assert.ok(got.length > 0);
    assert.deepEqual(
      got,
      [...got].sort((a, b) => a - b),
      `partition ${part} in order`,
    );
    assert.equal(got.length, total / 6, `partition ${part} complete, no duplicate`);
  }
  assert.ok(p.stats.sendErrors > 0, "failures happened");
});

test("Kafka answering again and again without a partition: backed off, then the cluster view is refreshed, then delivered", async () => {
  let sends = 0;
  let refreshed = 0;
  const delivered: string[] = [];
  const producer = {
    send: async (r: ProducerRecord) => {
      sends++;
      await new Promise((resolve) => setImmediate(resolve));
      // Until the producer reconnects, kafkajs skips partition 2 (its cached leader is unusable).
      const answered = [...new Set(r.messages.map((m) => m.partition!))].filter((p) => refreshed > 0 || p !== 2);
      for (const m of r.messages) if (answered.includes(m.partition!)) delivered.push(String(m.value));
      return answered.map((partition) => ({ topicName: r.topic, partition, errorCode: 0, baseOffset: "0" }));
    },
  } as unknown as Producer;
  const p = new BatchingProducer(
    producer,
    "t",
    {
      minSendIntervalMs: 0,
      retryInitialDelayMs: 20,
      retryMaxDelayMs: 50,
      refreshCluster: async () => void refreshed++,
    },
    () => {},
  );
  for (let i = 0; i < 6; i++) p.enqueue({ symbol: "s", message: msg(String(i), i % 3) });
  await waitFor(() => delivered.length === 6, "every record delivered", { timeoutMs: 30_000 });
  assert.equal(refreshed, 1, "one refresh after repeated unacknowledged answers");
  assert.ok(sends < 20, `backed off instead of spinning (${sends} sends)`);
  assert.deepEqual(
    delivered.filter((v) => Number(v) % 3 === 2),
    ["2", "5"],
  );
});
