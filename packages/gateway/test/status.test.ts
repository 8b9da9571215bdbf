import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { after, before, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Redis } from "ioredis";
import {
  HopTimestampsSchema,
  MarketDataService,
  MarketUpdateSchema,
  SignalsSchema,
  SymbolState,
  type StreamMarketUpdatesResponse,
} from "@quantcore/proto";
import { nowUs, waitFor } from "@quantcore/runtime";
import { startRedis, type RedisHandle } from "@quantcore/stack";
import { createGateway, type Gateway, type GatewayOptions } from "../src/index.js";

let redisHandle: RedisHandle;
let redis: Redis;

before(async () => {
  redisHandle = await startRedis();
  redis = new Redis(redisHandle.url);
});
after(async () => {
  redis.disconnect();
  await redisHandle.stop();
});

/** Short bounds so a test sees changes in seconds; every wait below is on a condition with a generous deadline. */
const FAST: Partial<GatewayOptions> = {
  statusIntervalMs: 100,
  shardHeartbeatTimeoutMs: 1_500,
  computeHeartbeatTimeoutMs: 1_500,
  maxDataAgeMs: 1_500,
};

async function publish(ns: string, symbol: string, id: number, ingestReceiveUs = nowUs()): Promise<void> {
  const u = create(MarketUpdateSchema, {
    symbol,
    updateId: BigInt(id),
    signals: create(SignalsSchema, { obi20: 0.5 }),
    timestamps: create(HopTimestampsSchema, { ingestReceiveUs, computePublishUs: nowUs() }),
  });
  const bytes = Buffer.from(toBinary(MarketUpdateSchema, u));
  await redis.multi().hset(`${ns}:state`, symbol, bytes).publish(`${ns}:updates`, bytes).exec();
}

const shardHeartbeat = (symbols: string[], over: Record<string, unknown> = {}) =>
  JSON.stringify({
    shardId: 0,
    symbols,
    connected: true,
    framesPerSecond: 10,
    lastFrameAgeMs: 0,
    reconnects: 0,
    resyncs: 0,
    gaps: 0,
    rejectedFrames: 0,
    producerBacklog: 0,
    updatedAtMs: Date.now(),
    ...over,
  });

/** Calls `fn` every `everyMs` until stopped: a shard's heartbeat, a flow of updates. */
function every(everyMs: number, fn: () => Promise<unknown>): { stop(): void } {
  let stopped = false;
  void (async () => {
    while (!stopped) {
      await fn().catch(() => {});
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { stop: () => (stopped = true) };
}

async function withGateway(opts: Partial<GatewayOptions>, fn: (g: Gateway, ns: string) => Promise<void>) {
  const ns = `s${randomUUID().slice(0, 8)}`;
  const g = await createGateway({ redisUrl: redisHandle.url, redisNamespace: ns, grpcPort: 0, httpPort: 0, ...opts });
  try {
    await fn(g, ns);
  } finally {
    await g.close();
  }
}

/** Reads a stream into `out` until aborted or its deadline. */
function collect(
  g: Gateway,
  req: { symbols: string[]; keepaliveIntervalMs?: number },
  out: StreamMarketUpdatesResponse[],
): { stop(): Promise<void> } {
  const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: g.grpcUrl }));
  const abort = new AbortController();
  const done = (async () => {
    try {
      for await (const m of client.streamMarketUpdates(req, { signal: abort.signal, timeoutMs: 120_000 })) out.push(m);
    } catch {
      /* ended by the test */
    }
  })();
  return {
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}

const statuses = (ms: StreamMarketUpdatesResponse[], symbol: string) =>
  ms.flatMap((m) => (m.event.case === "status" && m.event.value.symbol === symbol ? [m.event.value] : []));
const lastState = (ms: StreamMarketUpdatesResponse[], symbol: string) => statuses(ms, symbol).at(-1)?.state;

test("data stops while the shard still reports frames: STALE naming the age; updates resume: LIVE", async () => {
  await withGateway(FAST, async (g, ns) => {
    const beats = every(200, () => redis.hset(`${ns}:shards`, "0", shardHeartbeat(["BTCUSDT"])));
    let id = 1;
    await publish(ns, "BTCUSDT", id++);
    let flow = every(100, () => publish(ns, "BTCUSDT", id++));
    const got: StreamMarketUpdatesResponse[] = [];
    const s = collect(g, { symbols: ["BTCUSDT"] }, got);
    try {
      await waitFor(() => lastState(got, "BTCUSDT") === SymbolState.LIVE, "LIVE while updates flow");
      // Right after the snapshot: the snapshot's update, then the status.
      const first = got.findIndex((m) => m.event.case === "status");
      assert.ok(first > 0 && got[first - 1]!.event.case === "update", "the status follows the snapshot");
      flow.stop();
      await waitFor(() => lastState(got, "BTCUSDT") === SymbolState.STALE, "STALE once data stops");
      const stale = statuses(got, "BTCUSDT").at(-1)!;
      assert.match(stale.reason, /^no update for \d+\.\d s$/);
      assert.ok(stale.lastUpdateId > 0n, "the last value's id");
      flow = every(100, () => publish(ns, "BTCUSDT", id++));
      await waitFor(() => lastState(got, "BTCUSDT") === SymbolState.LIVE, "LIVE again when updates resume");
      // From the first LIVE on (before it, the gateway may not have read the first heartbeat yet).
      const all = statuses(got, "BTCUSDT").map((x) => x.state);
      const states = all.slice(all.indexOf(SymbolState.LIVE));
      assert.deepEqual(
        states.filter((x, i) => i === 0 || x !== states[i - 1]),
        [SymbolState.LIVE, SymbolState.STALE, SymbolState.LIVE],
      );
    } finally {
      flow.stop();
      beats.stop();
      await s.stop();
    }
  });
});

test("the shard's heartbeat stops, or it disconnects: STALE naming the shard; it beats again: LIVE", async () => {
  await withGateway(FAST, async (g, ns) => {
    let connected = true;
    let beats = every(200, () => redis.hset(`${ns}:shards`, "0", shardHeartbeat(["ETHUSDT"], { connected })));
    let id = 1;
    await publish(ns, "ETHUSDT", id++);
    const flow = every(100, () => publish(ns, "ETHUSDT", id++));
    const got: StreamMarketUpdatesResponse[] = [];
    const s = collect(g, { symbols: ["ETHUSDT"] }, got);
    try {
      await waitFor(() => lastState(got, "ETHUSDT") === SymbolState.LIVE, "LIVE");
      beats.stop();
      await waitFor(() => lastState(got, "ETHUSDT") === SymbolState.STALE, "STALE when the heartbeat stops");
      assert.match(statuses(got, "ETHUSDT").at(-1)!.reason, /^shard 0 heartbeat missing for/);
      beats = every(200, () => redis.hset(`${ns}:shards`, "0", shardHeartbeat(["ETHUSDT"], { connected })));
      await waitFor(() => lastState(got, "ETHUSDT") === SymbolState.LIVE, "LIVE when it beats again");
      connected = false;
      await waitFor(() => lastState(got, "ETHUSDT") === SymbolState.STALE, "STALE when the shard disconnects");
      assert.match(statuses(got, "ETHUSDT").at(-1)!.reason, /^shard 0 disconnected/);
    } finally {
      flow.stop();
      beats.stop();
      await s.stop();
    }
  });
});

test("compute: no heartbeat at all is unknown (LIVE); once seen, every heartbeat old = compute down", async () => {
  await withGateway(FAST, async (g, ns) => {
    const beats = every(200, () => redis.hset(`${ns}:shards`, "0", shardHeartbeat(["SOLUSDT"])));
    let id = 1;
    await publish(ns, "SOLUSDT", id++);
    const flow = every(100, () => publish(ns, "SOLUSDT", id++));
    const got: StreamMarketUpdatesResponse[] = [];
    const s = collect(g, { symbols: ["SOLUSDT"] }, got);
    const compute = (updatedAtMs: number) =>
      JSON.stringify({ instanceId: "c1", partitions: [0, 1], updatedAtMs, recordsPerSecond: 5, lagRecords: 0 });
    try {
      await waitFor(() => lastState(got, "SOLUSDT") === SymbolState.LIVE, "LIVE without any compute heartbeat");
      const computeBeats = every(200, () => redis.hset(`${ns}:compute`, "c1", compute(Date.now())));
      // Still LIVE after a few judgements with a fresh compute heartbeat.
      const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: g.grpcUrl }));
      await waitFor(async () => (await redis.hexists(`${ns}:compute`, "c1")) === 1, "compute heartbeat written");
      computeBeats.stop();
      await waitFor(() => lastState(got, "SOLUSDT") === SymbolState.STALE, "STALE once compute stops beating");
      assert.match(statuses(got, "SOLUSDT").at(-1)!.reason, /^compute down/);
      // GetSnapshot carries the same judgement next to the value.
      const snap = await client.getSnapshot({ symbols: ["SOLUSDT"] });
      assert.equal(snap.updates.length, 1);
      assert.deepEqual(
        snap.statuses.map((x) => [x.symbol, x.state]),
        [["SOLUSDT", SymbolState.STALE]],
      );
      assert.equal(snap.statuses[0]!.lastUpdateId, snap.updates[0]!.updateId);
    } finally {
      flow.stop();
      beats.stop();
      await s.stop();
    }
  });
});

test("late: an update that reaches the gateway past the lateness bound says so; standard decoders read every field", async () => {
  await withGateway({ lateAfterMs: 2_000 }, async (g, ns) => {
    await publish(ns, "BNBUSDT", 1);
    const got: StreamMarketUpdatesResponse[] = [];
    const s = collect(g, { symbols: ["BNBUSDT"] }, got);
    // grpc-js with protobufjs (another implementation) reading the same shared frames.
    const def = protoLoader.loadSync(
      path.resolve(import.meta.dirname, "../../../proto/quantcore/v1/market_data.proto"),
      { longs: String, defaults: true, oneofs: true },
    );
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      quantcore: { v1: { MarketDataService: new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client } };
    };
    const other = new pkg.quantcore.v1.MarketDataService(
      g.grpcUrl.replace("http://", ""),
      grpc.credentials.createInsecure(),
    );
    type Decoded = {
      update?: Record<string, unknown> & { signals: Record<string, unknown>; timestamps: Record<string, number> };
    };
    const call = (
      other as unknown as { streamMarketUpdates(req: unknown): grpc.ClientReadableStream<Decoded> }
    ).streamMarketUpdates({ symbols: ["BNBUSDT"] });
    const viaGrpcJs: NonNullable<Decoded["update"]>[] = [];
    call.on("data", (m: Decoded) => m.update && viaGrpcJs.push(m.update));
    call.on("error", () => {});
    try {
      await waitFor(() => got.some((m) => m.event.case === "update") && viaGrpcJs.length >= 1, "both snapshots");
      await waitFor(() => g.clientCount() === 2, "both registered");
      const t = nowUs();
      const old = create(MarketUpdateSchema, {
        symbol: "BNBUSDT",
        updateId: 2n,
        bookEpoch: 3n,
        signals: create(SignalsSchema, {
          obi1: 0.1,
          obi5: 0.2,
          obi10: 0.3,
          obi20: 0.4,
          bestBidPrice: 600.5,
          bestBidQuantity: 1.25,
          bestAskPrice: 600.75,
          bestAskQuantity: 2.5,
          midPrice: 600.625,
          spreadBps: 4.16,
          microprice: 600.6,
          weightedObi: -0.2,
          ofi1s: 3,
          ofi10s: -7,
        }),
        timestamps: create(HopTimestampsSchema, {
          exchangeEventUs: t - 33_001_000,
          ingestReceiveUs: t - 33_000_000, // e.g. held up by a Kafka outage
          ingestProduceUs: t - 32_999_000,
          computeReceiveUs: t - 2_000,
          computePublishUs: t - 1_000,
        }),
      });
      const bytes = Buffer.from(toBinary(MarketUpdateSchema, old));
      await redis.multi().hset(`${ns}:state`, "BNBUSDT", bytes).publish(`${ns}:updates`, bytes).exec();
      await publish(ns, "BNBUSDT", 3); // on time
      const live = () =>
        got.flatMap((m) => (m.event.case === "update" && !m.event.value.snapshot ? [m.event.value] : []));
      await waitFor(() => live().length >= 2 && viaGrpcJs.length >= 3, "both live updates on both clients");
      const [lateOne, onTime] = live();
      assert.equal(lateOne!.late, true);
      assert.equal(onTime!.late, false);
      // Every field as published, plus the gateway's stamp.
      assert.ok(lateOne!.timestamps!.gatewaySendUs >= t);
      assert.deepEqual(
        { ...lateOne!, timestamps: { ...lateOne!.timestamps!, gatewaySendUs: 0 } },
        { ...old, late: true, timestamps: { ...old.timestamps!, gatewaySendUs: 0 } },
      );
      const [, lateJs, onTimeJs] = viaGrpcJs;
      assert.equal(lateJs!.late, true);
      assert.equal(onTimeJs!.late, false);
      assert.equal(lateJs!.updateId, "2");
      assert.equal(lateJs!.bookEpoch, "3");
      assert.deepEqual(lateJs!.signals, {
        obi_1: 0.1,
        obi_5: 0.2,
        obi_10: 0.3,
        obi_20: 0.4,
        bestBidPrice: 600.5,
        bestBidQuantity: 1.25,
        bestAskPrice: 600.75,
        bestAskQuantity: 2.5,
        midPrice: 600.625,
        spreadBps: 4.16,
        microprice: 600.6,
        weightedObi: -0.2,
        ofi_1s: 3,
        ofi_10s: -7,
        ...Object.fromEntries(
          Object.keys(lateJs!.signals)
            .filter((k) => k.startsWith("_"))
            .map((k) => [k, lateJs!.signals[k]]),
        ),
      });
      const { $typeName: _, ...sentStamps } = old.timestamps!;
      assert.deepEqual({ ...lateJs!.timestamps, gatewaySendUs: 0 }, { ...sentStamps, gatewaySendUs: 0 });
    } finally {
      call.cancel();
      other.close();
      await s.stop();
    }
  });
});
