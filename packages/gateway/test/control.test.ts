import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { ControlService, HopTimestampsSchema, MarketUpdateSchema } from "@quantcore/proto";
import { nowUs, waitFor } from "@quantcore/runtime";
import { startRedis, type RedisHandle } from "@quantcore/stack";
import { createGateway, type Gateway } from "../src/index.js";

let redisHandle: RedisHandle;
let redis: Redis;
let gateway: Gateway;
const ns = `c${randomUUID().slice(0, 8)}`;

before(async () => {
  redisHandle = await startRedis();
  redis = new Redis(redisHandle.url);
  gateway = await createGateway({
    redisUrl: redisHandle.url,
    redisNamespace: ns,
    grpcPort: 0,
    httpPort: 0,
    operatorTokens: ["op-secret"],
    botTokens: ["bot-secret"],
  });
});
after(async () => {
  await gateway.close();
  redis.disconnect();
  await redisHandle.stop();
});

const clientWith = (token?: string) => {
  const transport: Transport = createGrpcTransport({
    baseUrl: gateway.grpcUrl,
    interceptors: token ? [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))] : [],
  });
  return createClient(ControlService, transport);
};
const codeOf = (e: unknown) => ConnectError.from(e).code;

test("no token or an unknown token: UNAUTHENTICATED; a bot token on an operator action: PERMISSION_DENIED", async () => {
  await assert.rejects(clientWith().forceResync({ symbol: "BTCUSDT" }), (e) => codeOf(e) === Code.Unauthenticated);
  await assert.rejects(
    clientWith("nope").forceResync({ symbol: "BTCUSDT" }),
    (e) => codeOf(e) === Code.Unauthenticated,
  );
  await assert.rejects(
    (async () => {
      for await (const _ of clientWith().watchPipelineHealth({})) break;
    })(),
    (e) => codeOf(e) === Code.Unauthenticated,
  );
  await assert.rejects(
    clientWith("bot-secret").forceResync({ symbol: "BTCUSDT" }),
    (e) => codeOf(e) === Code.PermissionDenied,
  );
  await assert.rejects(clientWith("bot-secret").startReplay({}), (e) => codeOf(e) === Code.PermissionDenied);
});

test("an operator's resync reaches ingest's control channel", async () => {
  const sub = new Redis(redisHandle.url);
  const got: string[] = [];
  sub.on("message", (_c, m) => got.push(m));
  await sub.subscribe(`${ns}:control`);
  await clientWith("op-secret").forceResync({ symbol: "ETHUSDT" });
  await clientWith("op-secret").forceResync({ shardId: 2, wholeShard: true });
  await waitFor(() => got.length === 2, "two commands");
  assert.deepEqual(
    got.map((m) => JSON.parse(m)),
    [
      { type: "resync", symbol: "ETHUSDT" },
      { type: "resync", shardId: 2 },
    ],
  );
  await assert.rejects(clientWith("op-secret").forceResync({ symbol: "" }), (e) => codeOf(e) === Code.InvalidArgument);
  sub.disconnect();
});

test("health: shard heartbeats (stale ones flagged), per-layer latency, client count", async () => {
  const now = Date.now();
  const hb = (shardId: number, updatedAtMs: number) =>
    JSON.stringify({
      shardId,
      symbols: ["BTCUSDT"],
      connected: true,
      framesPerSecond: 12.5,
      lastFrameAgeMs: 40,
      reconnects: 1,
      resyncs: 2,
      gaps: 0,
      rejectedFrames: 3,
      producerBacklog: 0,
      updatedAtMs,
    });
  await redis.hset(`${ns}:shards`, "0", hb(0, now), "1", hb(1, now - 60_000));
  const t = nowUs();
  const u = create(MarketUpdateSchema, {
    symbol: "BTCUSDT",
    updateId: 1n,
    timestamps: create(HopTimestampsSchema, {
      exchangeEventUs: t - 9000,
      ingestReceiveUs: t - 4000,
      ingestProduceUs: t - 3900,
      computeReceiveUs: t - 2000,
      computePublishUs: t - 1500,
    }),
  });
  await redis.publish(`${ns}:updates`, Buffer.from(toBinary(MarketUpdateSchema, u)));
  const client = clientWith("bot-secret");
  const abort = new AbortController();
  let seen;
  for await (const res of client.watchPipelineHealth({ intervalMs: 100 }, { signal: abort.signal })) {
    if (res.health?.latency.some((l) => l.count > 0n)) {
      seen = res.health;
      break;
    }
  }
  abort.abort();
  assert.ok(seen);
  assert.deepEqual(
    seen.shards.map((s) => [s.shardId, s.connected, s.stale]),
    [
      [0, true, false],
      [1, false, true],
    ],
  );
  assert.equal(seen.shards[0]!.rejectedFrames, 3n);
  const kafka = seen.latency.find((l) => l.layer === "kafka")!;
  assert.equal(kafka.count, 1n);
  assert.ok(Math.abs(kafka.p50Ms - 1.9) < 0.01, `kafka p50 ${kafka.p50Ms}`);
  assert.ok(seen.clients >= 0);
  assert.deepEqual(seen.consumerLag, [], "no Kafka configured: no lag rows");
});
