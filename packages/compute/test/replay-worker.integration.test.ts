// The replay worker against the real broker and the real Redis: commands in, job records out,
// and finished jobs removed with their namespace and consumer group after the retention.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import type { Admin, Producer } from "kafkajs";
import {
  computeHeartbeatSchema,
  parseJson,
  redisKeys,
  replayJobSchema,
  waitFor,
  type ReplayCommand,
  type ReplayJobRecord,
} from "@quantcore/runtime";
import { createTopics, sharedOrOwnStack, type TestStack } from "@quantcore/stack";
import { createComputeService, createReplayWorker, type ReplayWorker } from "../src/index.js";
import { kafkaOf, produceRounds } from "./support.js";

let stack: TestStack | undefined;
let brokers: string[];
let redisUrl: string;
let producer: Producer;
let admin: Admin;
let redis: Redis;
const SYMBOLS = ["AAUSDT", "BBUSDT", "CCUSDT", "DDUSDT"];

before(async () => {
  stack = await sharedOrOwnStack({ redis: true });
  ({ brokers, redisUrl } = stack);
  producer = kafkaOf(brokers).producer();
  await producer.connect();
  admin = kafkaOf(brokers).admin();
  await admin.connect();
  redis = new Redis(redisUrl);
});
after(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  redis?.disconnect();
  await stack?.stop();
});

const unique = () => randomUUID().slice(0, 8);

async function jobs(ns: string): Promise<ReplayJobRecord[]> {
  const raw = await redis.hgetall(redisKeys(ns).replays);
  return Object.values(raw).map((v) => parseJson(replayJobSchema, v, "job"));
}
const send = (ns: string, cmd: Omit<ReplayCommand, "requestedAtMs">) =>
  redis.publish(redisKeys(ns).replayCommands, JSON.stringify({ ...cmd, requestedAtMs: Date.now() }));
const groups = async () => new Set((await admin.listGroups()).groups.map((g) => g.groupId));

/** A topic with records, and the live state computed from it (caught up). */
async function liveSetup() {
  const topic = `rw_${unique()}`;
  const ns = `rw${unique()}`;
  await createTopics(brokers, [{ name: topic, partitions: 30 }]);
  await produceRounds(producer, topic, SYMBOLS, 0, 40);
  const live = createComputeService({
    kafkaBrokers: brokers,
    kafkaTopic: topic,
    groupId: `live-${ns}`,
    redisUrl,
    redisNamespace: ns,
  });
  await live.start();
  await waitFor(
    async () => (await redis.hlen(redisKeys(ns).state)) === SYMBOLS.length && live.stats().lagRecords === 0,
    "live caught up",
    {
      timeoutMs: 60_000,
      intervalMs: 200,
    },
  );
  return { topic, ns, live };
}

test("compute's heartbeat carries lag for every assigned partition, quiet ones included, measured against the broker", async () => {
  const { topic, ns, live } = await liveSetup();
  try {
    const beat = async () => {
      const raw = await redis.hget(redisKeys(ns).compute, live.options.instanceId);
      return raw ? parseJson(computeHeartbeatSchema, raw, "heartbeat") : undefined;
    };
    // Records only reach 4 partitions: the other 26 are known through the lag probe alone.
    const caughtUp = await waitFor(
      async () => {
        const b = await beat();
        return b?.partitionLag?.length === 30 && b.partitionLag.every((p) => p.lag === 0) && b;
      },
      "30 partitions with lag 0",
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.deepEqual(
      caughtUp.partitionLag!.map((p) => p.partition),
      Array.from({ length: 30 }, (_, i) => i),
    );
    // Records compute cannot write (Redis refuses its ids key) show up as lag on their partitions.
    await redis.rename(redisKeys(ns).ids, `${redisKeys(ns).ids}-aside`);
    await redis.set(redisKeys(ns).ids, "not a hash");
    await produceRounds(producer, topic, SYMBOLS, 1000, 5);
    const lagging = await waitFor(
      async () => {
        const b = await beat();
        return b?.partitionLag?.filter((p) => p.lag > 0).length === SYMBOLS.length && b;
      },
      "lag on the 4 written partitions",
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.deepEqual(
      lagging.partitionLag!.filter((p) => p.lag > 0).map((p) => [p.partition, p.lag]),
      [0, 1, 2, 3].map((p) => [p, 5]),
    );
    assert.equal(lagging.lagRecords, 20);
    await redis.del(redisKeys(ns).ids);
    await redis.rename(`${redisKeys(ns).ids}-aside`, redisKeys(ns).ids);
  } finally {
    await live.stop();
  }
});

test("a start command runs the replay and records it equal; after the retention the job, its namespace and its group are gone", async () => {
  const { topic, ns, live } = await liveSetup();
  let worker: ReplayWorker | undefined;
  try {
    worker = createReplayWorker({
      kafkaBrokers: brokers,
      kafkaTopic: topic,
      redisUrl,
      redisNamespace: ns,
      retentionMs: 3_000,
      cleanupIntervalMs: 250,
    });
    await worker.start();
    // A malformed command is counted and ignored.
    await redis.publish(redisKeys(ns).replayCommands, JSON.stringify({ type: "start", id: "NOT AN ID" }));
    assert.equal(await send(ns, { type: "start", id: "job1" }), 1, "the worker listens");
    const done = await waitFor(
      async () => (await jobs(ns)).find((j) => j.id === "job1" && j.state !== "running"),
      "the replay to finish",
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    assert.equal(done.state, "equal", done.detail);
    assert.match(done.detail, /^4 identical, 0 live ahead, 0 mismatches$/);
    assert.ok(done.finishedAtMs !== undefined && done.finishedAtMs >= done.startedAtMs);
    assert.equal(worker.stats().rejectedCommands, 1);
    // Still kept within the retention: the namespace holds the replayed state, the group exists.
    assert.equal(await redis.hlen(redisKeys(done.namespace).state), SYMBOLS.length);
    assert.ok((await groups()).has(done.groupId), "group kept during the retention");

    await waitFor(async () => (await jobs(ns)).length === 0, "the job removed after the retention", {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const left = await redis.keys(`${done.namespace}:*`);
    assert.deepEqual(left, [], "the replay's namespace is gone");
    assert.ok(!(await groups()).has(done.groupId), "the replay's consumer group is gone");
    assert.ok(worker.stats().cleaned >= 1);
    // The live namespace is untouched.
    assert.equal(await redis.hlen(redisKeys(ns).state), SYMBOLS.length);
  } finally {
    await worker?.stop();
    await live.stop();
  }
});

test("one replay at a time; a stop command stops it; a running job whose worker vanished is marked failed", async () => {
  const { topic, ns, live } = await liveSetup();
  // The first replay cannot finish: its namespace's ids key has the wrong type, so its writes fail
  // (retriable) and it keeps running until stopped, whatever the machine's speed.
  await redis.set(`${ns}-replay-first:ids`, "not a hash");
  let worker: ReplayWorker | undefined;
  try {
    worker = createReplayWorker({
      kafkaBrokers: brokers,
      kafkaTopic: topic,
      redisUrl,
      redisNamespace: ns,
      retentionMs: 3_600_000,
      cleanupIntervalMs: 200,
      orphanAfterMs: 2_000,
    });
    // A job another worker left running (it never refreshed it again).
    const stale: ReplayJobRecord = {
      id: "orphan",
      state: "running",
      detail: "",
      namespace: `${ns}-replay-orphan`,
      groupId: "g-orphan",
      worker: "elsewhere:1",
      startedAtMs: Date.now() - 60_000,
      updatedAtMs: Date.now() - 60_000,
    };
    await redis.hset(redisKeys(ns).replays, "orphan", JSON.stringify(stale));
    await worker.start();
    await waitFor(
      async () => (await jobs(ns)).find((j) => j.id === "orphan" && j.state === "failed"),
      "the orphan marked failed",
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    await send(ns, { type: "start", id: "first" });
    await waitFor(async () => (await jobs(ns)).find((j) => j.id === "first"), "first claimed", { timeoutMs: 30_000 });
    await send(ns, { type: "start", id: "second" });
    const refused = await waitFor(async () => (await jobs(ns)).find((j) => j.id === "second"), "second recorded", {
      timeoutMs: 30_000,
    });
    assert.equal(refused.state, "failed");
    assert.match(refused.detail, /replay first is still running/);

    await send(ns, { type: "stop", id: "first" });
    const stopped = await waitFor(
      async () => (await jobs(ns)).find((j) => j.id === "first" && j.state !== "running"),
      "first stopped",
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    assert.equal(stopped.state, "stopped", stopped.detail);
    assert.equal(stopped.detail, "stopped by an operator");
  } finally {
    await worker?.stop();
    await live.stop();
  }
});
