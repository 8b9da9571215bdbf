// Compute against the real broker and the real Redis.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { after, before, test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import type { Producer } from "kafkajs";
import { MarketUpdateSchema } from "@quantcore/proto";
import { waitFor } from "@quantcore/runtime";
import { createTopics, startRedis, sharedOrOwnStack, type TestStack } from "@quantcore/stack";
import { createComputeService, replayAndCompare } from "../src/index.js";
import { kafkaOf, produceRounds } from "./support.js";

let stack: TestStack | undefined;
let brokers: string[];
let redisUrl: string;
let producer: Producer;
const SYMBOLS = Array.from({ length: 12 }, (_, i) => `S${i}USDT`);

before(async () => {
  stack = await sharedOrOwnStack({ redis: true });
  ({ brokers, redisUrl } = stack);
  producer = kafkaOf(brokers).producer();
  await producer.connect();
});
after(async () => {
  await producer?.disconnect();
  await stack?.stop();
});

const unique = () => randomUUID().slice(0, 8);

async function newTopic(): Promise<string> {
  const topic = `ob_${unique()}`;
  await createTopics(brokers, [{ name: topic, partitions: 30 }]);
  return topic;
}

/** Every PUBLISH on the namespace's channel, per symbol, in arrival order. */
async function watchPublishes(url: string, ns: string) {
  const sub = new Redis(url);
  const seen = new Map<string, bigint[]>();
  sub.on("messageBuffer", (_c: Buffer, msg: Buffer) => {
    const u = fromBinary(MarketUpdateSchema, msg);
    seen.set(u.symbol, [...(seen.get(u.symbol) ?? []), u.updateId]);
  });
  await sub.subscribe(`${ns}:updates`);
  return { seen, close: () => sub.disconnect() };
}

async function stateIds(url: string, ns: string): Promise<Map<string, bigint>> {
  const r = new Redis(url);
  const all = await r.hgetallBuffer(`${ns}:state`);
  r.disconnect();
  return new Map(Object.entries(all).map(([s, b]) => [s, fromBinary(MarketUpdateSchema, b).updateId]));
}

function assertNeverBackwards(seen: Map<string, bigint[]>) {
  for (const [symbol, ids] of seen) {
    for (let i = 1; i < ids.length; i++)
      assert.ok(ids[i]! > ids[i - 1]!, `${symbol}: published ${ids[i]} after ${ids[i - 1]}`);
  }
}

function spawnCompute(env: Record<string, string>): ChildProcess {
  const main = path.resolve(import.meta.dirname, "../../../apps/compute/src/main.ts");
  return spawn(process.execPath, ["--import", "tsx", main], {
    env: { ...process.env, COMPUTE_METRICS_PORT: "0", ...env, LOG_LEVEL: "warn" },
    stdio: "ignore",
  });
}

test("two instances share the partitions; SIGKILL one mid-stream: the other takes over, no symbol lost, no id backwards", async () => {
  const topic = await newTopic();
  const ns = `k${unique()}`;
  const group = `g-${unique()}`;
  const watch = await watchPublishes(redisUrl, ns);
  const env = {
    KAFKA_BROKERS: brokers.join(","),
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: group,
    REDIS_URL: redisUrl,
    REDIS_NAMESPACE: ns,
  };
  const a = spawnCompute(env);
  const b = spawnCompute(env);
  const admin = kafkaOf(brokers).admin();
  await admin.connect();
  try {
    await waitFor(
      async () => {
        const g = await admin.describeGroups([group]);
        return g.groups[0]?.state === "Stable" && g.groups[0].members.length === 2;
      },
      "both instances in the group",
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    let id = await produceRounds(producer, topic, SYMBOLS, 0, 20);
    await waitFor(async () => (await stateIds(redisUrl, ns)).size === SYMBOLS.length, "first wave written", {
      timeoutMs: 30_000,
    });
    a.kill("SIGKILL");
    id = await produceRounds(producer, topic, SYMBOLS, id, 20);
    const want = BigInt(id);
    await waitFor(
      async () => {
        const ids = await stateIds(redisUrl, ns);
        return SYMBOLS.every((s) => ids.get(s) === want);
      },
      "every symbol at the last id after the takeover",
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    assertNeverBackwards(watch.seen);
    assert.equal(watch.seen.size, SYMBOLS.length);
  } finally {
    a.kill("SIGKILL");
    b.kill("SIGTERM");
    watch.close();
    await admin.disconnect();
  }
});

test("replay from offset 0 under a new group reproduces the live state exactly", async () => {
  const topic = await newTopic();
  const ns = `r${unique()}`;
  const live = createComputeService({
    kafkaBrokers: brokers,
    kafkaTopic: topic,
    groupId: `live-${unique()}`,
    fromBeginning: true,
    redisUrl,
    redisNamespace: ns,
  });
  await live.start();
  try {
    const id = await produceRounds(producer, topic, SYMBOLS, 1000, 30);
    await waitFor(async () => {
      const ids = await stateIds(redisUrl, ns);
      return SYMBOLS.every((s) => ids.get(s) === BigInt(id));
    }, "live state complete");
  } finally {
    await live.stop();
  }
  const report = await replayAndCompare({
    kafkaBrokers: brokers,
    kafkaTopic: topic,
    redisUrl,
    liveNamespace: ns,
    timeoutMs: 60_000,
  });
  assert.deepEqual(report.mismatches, []);
  assert.equal(report.identical.length, SYMBOLS.length);
  assert.equal(report.equal, true);
});

test("Redis restarted empty mid-stream: compute retries without committing, then the state is whole again", async () => {
  const own = await startRedis();
  const topic = await newTopic();
  const ns = `e${unique()}`;
  const group = `g-${unique()}`;
  const svc = createComputeService({
    kafkaBrokers: brokers,
    kafkaTopic: topic,
    groupId: group,
    fromBeginning: true,
    redisUrl: own.url,
    redisNamespace: ns,
  });
  await svc.start();
  const admin = kafkaOf(brokers).admin();
  await admin.connect();
  let second: Awaited<ReturnType<typeof startRedis>> | undefined;
  try {
    let id = await produceRounds(producer, topic, SYMBOLS, 0, 5);
    await waitFor(async () => (await stateIds(own.url, ns)).size === SYMBOLS.length, "initial state");
    const committed = async () =>
      (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]!.partitions.reduce(
        (s, p) => s + Math.max(0, Number(p.offset)),
        0,
      );
    // Compare with the log's end rather than a count: a producer retry may legitimately duplicate a record.
    const logEnd = async () => (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
    const endBefore = await logEnd();
    await waitFor(async () => (await committed()) === endBefore, "offsets committed");
    await own.stop();
    // Only half the symbols send anything more: the others must come back from compute's memory.
    const movers = SYMBOLS.slice(0, 6);
    id = await produceRounds(producer, topic, movers, id, 3);
    await waitFor(() => svc.stats().redisRetries > 0, "compute retrying");
    assert.equal(await committed(), endBefore, "nothing committed while Redis is down");
    second = await startRedis({ port: own.port });
    await waitFor(
      async () => {
        const ids = await stateIds(second!.url, ns);
        return ids.size === SYMBOLS.length && movers.every((s) => ids.get(s) === BigInt(id));
      },
      "state whole again",
      { timeoutMs: 30_000 },
    );
    const endAfter = await logEnd();
    await waitFor(async () => (await committed()) === endAfter, "offsets committed after recovery");
  } finally {
    await svc.stop();
    await admin.disconnect();
    await second?.stop();
    await own.stop();
  }
});
