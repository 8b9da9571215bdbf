// The control plane over the real pipeline: shard heartbeats, consumer lag, layer latency,
// an operator-forced resync reaching ingest, and a replay that reproduces the live state.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { startBinanceSim, type BinanceSim } from "@quantcore/binance-sim";
import { createComputeService, createReplayWorker, type ComputeService, type ReplayWorker } from "@quantcore/compute";
import { createGateway, type Gateway } from "@quantcore/gateway";
import { createIngestService, type IngestService } from "@quantcore/ingest";
import { ControlService, type PipelineHealth } from "@quantcore/proto";
import { waitFor } from "@quantcore/runtime";
import { exitWhenDone } from "../support/exit-guard.js";
import { testServices, type TestServices } from "../support/services.js";

const run = randomUUID().slice(0, 8);
const ns = `ctl${run}`;
const topic = `order_book_ctl_${run}`;
const group = `ctl-${run}`;
const SYMBOLS = ["SOLUSDT", "XRPUSDT", "DOGEUSDT"];
let services: TestServices | undefined;
let sim: BinanceSim;
let ingest: IngestService;
let compute: ComputeService;
let replays: ReplayWorker;
let gateway: Gateway;

before(async () => {
  services = await testServices(topic);
  const { brokers, redisUrl } = services;
  sim = await startBinanceSim({ syntheticSymbols: SYMBOLS, syntheticUpdatesPerSecond: 20 });
  ingest = createIngestService({
    wsBaseUrl: sim.wsUrl,
    restBaseUrl: sim.restUrl,
    symbols: SYMBOLS,
    shardId: 4,
    kafkaBrokers: brokers,
    kafkaTopic: topic,
    redisUrl,
    redisNamespace: ns,
    heartbeatIntervalMs: 200,
  });
  compute = createComputeService({
    kafkaBrokers: brokers,
    kafkaTopic: topic,
    groupId: group,
    fromBeginning: true,
    redisUrl,
    redisNamespace: ns,
  });
  gateway = await createGateway({
    redisUrl,
    redisNamespace: ns,
    grpcPort: 0,
    httpPort: 0,
    operatorTokens: ["op"],
  });
  // Replays run in their own worker (apps/compute with COMPUTE_MODE=replay); the gateway only
  // sends it commands and reads the jobs it records.
  replays = createReplayWorker({ kafkaBrokers: brokers, kafkaTopic: topic, redisUrl, redisNamespace: ns });
  await replays.start();
  await ingest.start();
  await compute.start();
});

after(async () => {
  await ingest?.stop();
  await compute?.stop();
  await replays?.stop();
  await gateway?.close();
  await sim?.close();
  await services?.stop();
  exitWhenDone();
});

test("health shows the shard connected, lag per partition and every layer; resync and replay work end to end", async () => {
  const client = createClient(
    ControlService,
    createGrpcTransport({
      baseUrl: gateway.grpcUrl,
      interceptors: [(next) => (req) => (req.header.set("authorization", "Bearer op"), next(req))],
    }),
  );
  const abort = new AbortController();
  let health: PipelineHealth | undefined;
  const watching = (async () => {
    for await (const r of client.watchPipelineHealth({ intervalMs: 200 }, { signal: abort.signal })) health = r.health;
  })().catch(() => {});
  try {
    await waitFor(
      () =>
        health &&
        health.shards.some((s) => s.shardId === 4 && s.connected && s.framesPerSecond > 0) &&
        health.consumerLag.length === 30 &&
        health.latency.every((l) => l.layer.startsWith("exchange") || l.count > 0n),
      "healthy shard and latency in every layer",
      { timeoutMs: 60_000 },
    );
    const shard = health!.shards.find((s) => s.shardId === 4)!;
    assert.deepEqual(shard.symbols, SYMBOLS);
    assert.equal(health!.consumerLag.length, 30);

    const resetsBefore = ingest.stats().resets;
    await client.forceResync({ symbol: "XRPUSDT" });
    await waitFor(() => ingest.stats().resets > resetsBefore, "ingest rebuilt the book after the operator's resync", {
      timeoutMs: 30_000,
    });

    // Stop the flow so live and replay cover the same offsets, then replay from offset 0.
    await ingest.stop();
    // Lag comes with compute's heartbeats (every second, its broker probe every second): one
    // written well after the stop has seen every record.
    const judgedFromUs = (Date.now() + 2_500) * 1000;
    await waitFor(
      () =>
        health &&
        health.serverTimeUs >= judgedFromUs &&
        health.consumerLag.length === 30 &&
        health.consumerLag.every((p) => p.lag === 0n),
      "compute caught up",
      { timeoutMs: 30_000 },
    );
    const { job } = await client.startReplay({});
    await waitFor(() => health?.replays.find((r) => r.id === job!.id && r.state !== "running"), "replay finished", {
      timeoutMs: 120_000,
    });
    const done = health!.replays.find((r) => r.id === job!.id)!;
    assert.equal(done.state, "equal", done.detail);
  } finally {
    abort.abort();
    await watching;
  }
});
