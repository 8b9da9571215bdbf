import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { ControlService, HopTimestampsSchema, MarketDataService, MarketUpdateSchema } from "@quantcore/proto";
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

const heartbeat = (shardId: number, updatedAtMs: number, symbols = ["BTCUSDT"]) =>
  JSON.stringify({
    shardId,
    symbols,
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

test("an operator's resync reaches ingest's control channel", async () => {
  await redis.hset(`${ns}:shards`, "2", heartbeat(2, Date.now(), ["ETHUSDT"]));
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

test("resync of a shard or a symbol nobody serves: NOT_FOUND naming it, and nothing is published", async () => {
  const sub = new Redis(redisHandle.url);
  const got: string[] = [];
  sub.on("message", (_c, m) => got.push(m));
  await sub.subscribe(`${ns}:control`);
  try {
    await assert.rejects(
      clientWith("op-secret").forceResync({ shardId: 7, wholeShard: true }),
      (e) => codeOf(e) === Code.NotFound && /shard 7/.test(ConnectError.from(e).rawMessage),
    );
    await assert.rejects(
      clientWith("op-secret").forceResync({ symbol: "BTCUSD" }),
      (e) => codeOf(e) === Code.NotFound && /BTCUSD\b/.test(ConnectError.from(e).rawMessage),
    );
    // A known one still goes through, after the refused ones: nothing else arrived before it.
    await clientWith("op-secret").forceResync({ shardId: 2, wholeShard: true });
    await waitFor(() => got.length >= 1, "the valid command");
    assert.deepEqual(
      got.map((m) => JSON.parse(m)),
      [{ type: "resync", shardId: 2 }],
    );
  } finally {
    sub.disconnect();
  }
});

test("the bearer scheme is case-insensitive (RFC 7235); the token itself is not", async () => {
  const withHeader = (value: string) =>
    createClient(
      ControlService,
      createGrpcTransport({
        baseUrl: gateway.grpcUrl,
        interceptors: [(next) => (req) => (req.header.set("authorization", value), next(req))],
      }),
    );
  for (const scheme of ["bearer", "BEARER", "Bearer", "bEaReR"])
    await withHeader(`${scheme} op-secret`).forceResync({ shardId: 2, wholeShard: true });
  await assert.rejects(
    withHeader("Bearer OP-SECRET").forceResync({ shardId: 2, wholeShard: true }),
    (e) => codeOf(e) === Code.Unauthenticated,
  );
  await assert.rejects(
    withHeader("Basic op-secret").forceResync({ shardId: 2, wholeShard: true }),
    (e) => codeOf(e) === Code.Unauthenticated,
  );
  // A prefix of a valid token is not a token.
  await assert.rejects(
    withHeader("Bearer op").forceResync({ shardId: 2, wholeShard: true }),
    (e) => codeOf(e) === Code.Unauthenticated,
  );
});

test("health: shard heartbeats (stale ones flagged, malformed ones skipped and counted), per-layer latency, client count", async () => {
  const now = Date.now();
  await redis.del(`${ns}:shards`);
  await redis.hset(`${ns}:shards`, "0", heartbeat(0, now), "1", heartbeat(1, now - 60_000));
  // Not a heartbeat: skipped (and counted), never shown as a shard.
  await redis.hset(`${ns}:shards`, "9", JSON.stringify({ shardId: "9", symbols: "BTCUSDT" }));
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
  // Market-data streams open while health is watched: the health reports exactly these.
  const market = createClient(MarketDataService, createGrpcTransport({ baseUrl: gateway.grpcUrl }));
  const streams = new AbortController();
  const opened = 3;
  const ended = Array.from({ length: opened }, async () => {
    try {
      for await (const _ of market.streamMarketUpdates({ symbols: [] }, { signal: streams.signal, timeoutMs: 60_000 }));
    } catch {
      /* ended by the test */
    }
  });
  await waitFor(() => gateway.clientCount() === opened, "streams registered");
  await redis.publish(`${ns}:updates`, Buffer.from(toBinary(MarketUpdateSchema, u)));
  const client = clientWith("bot-secret");
  let seen;
  // The deadline ends the loop if the awaited health never comes.
  for await (const res of client.watchPipelineHealth({ intervalMs: 100 }, { timeoutMs: 30_000 })) {
    if (res.health?.latency.some((l) => l.count > 0n)) {
      seen = res.health;
      break;
    }
  }
  streams.abort();
  await Promise.all(ended);
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
  assert.equal(seen.clients, opened, "the streams open while health was read");
  const metrics = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
  assert.match(metrics, /quantcore_gateway_rejected_contract_values_total\{contract="shards"\} [1-9]/);
  assert.deepEqual(seen.consumerLag, [], "no Kafka configured: no lag rows");
});
