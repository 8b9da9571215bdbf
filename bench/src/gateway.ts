// Gateway fan-out: N concurrent streams (half native gRPC over h2c, half gRPC-Web over HTTP/1.1),
// each subscribed to all 30 symbols, while a publisher writes 300 updates/s into Redis the way
// compute does: in the deployed shape (bursts: every symbol once per 100 ms, in a few writes) and
// spread uniformly (gateway-publisher.ts). Reports per shape the gateway layer (Redis publish ->
// client receive) p50/p99, the gateway process's CPU per delivery and RSS, then the same with 10%
// stalled clients; plus the payload size of a 30-symbol snapshot as protobuf vs JSON.
// Usage: npm run gateway -w @quantcore/bench  [BENCH_STREAMS=1000] [BENCH_SECONDS=20] [BENCH_SHAPES=bursts,uniform]
import { spawnSync } from "node:child_process";
import http2 from "node:http2";
import { Worker } from "node:worker_threads";
import path from "node:path";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { TOP30_USDT } from "@quantcore/ingest";
import { GetSnapshotResponseSchema, StreamMarketUpdatesRequestSchema } from "@quantcore/proto";
import { EnvReader, sleep } from "@quantcore/runtime";
import { freePort, startRedis } from "@quantcore/stack";
import { measureFloorInChild } from "./gateway-burst-floor.js";
import { cpuSeconds, flushesOf, rssMb, startGatewayProcess } from "./gateway-process.js";
import { grpcStreams, type ClientsConfig, type ClientsResult, type ToClients } from "./gateway-clients.js";
import {
  DEFAULT_PUBLISHER,
  benchUpdate,
  readPublishShapes,
  startPublisher,
  type PublishShape,
} from "./gateway-publisher.js";
import { summarize, writeResults, type Summary } from "./report.js";

const env = new EnvReader();
const streams = env.int("BENCH_STREAMS", 1000, { min: 2 });
const seconds = env.int("BENCH_SECONDS", 20, { min: 3 });
const rate = env.int("BENCH_UPDATES_PER_SECOND", 300, { min: 1 });
const webPercent = env.int("BENCH_GRPC_WEB_PERCENT", 50, { min: 0, max: 100 });
// The observing clients run in worker threads, off the publisher's event loop (more than one
// thread only adds contention on a 2-core host).
const clientThreads = env.int("BENCH_CLIENT_THREADS", 1, { min: 1, max: 16 });
// Clients let the gateway put several symbols into one message (StreamMarketUpdatesRequest.allow_batches).
const batches = env.oneOf("BENCH_BATCHES", ["true", "false"] as const, "true") === "true";
// The publish shapes measured, in order (the first is the headline): bursts = deployed, uniform = spread.
const shapes = readPublishShapes(env);
// bursts: the writes per 100 ms (compute's writes per interval; 4 as measured at 300/s in load.md).
const writesPerBurst = env.int("BENCH_WRITES_PER_BURST", DEFAULT_PUBLISHER.writesPerBurst, { min: 1, max: 100 });
// Extra node flags for the gateway process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--trace-gc".
const gatewayNodeArgs = env.string("BENCH_GATEWAY_NODE_ARGS", "").split(" ").filter(Boolean);
env.done();

const redisHandle = await startRedis();
const ns = "benchgw";
const grpcPort = await freePort();
const httpPort = await freePort();
// The gateway as its image runs it: the bundle, on plain node.
const built = spawnSync("npm", ["run", "build", "-w", "@quantcore/app-gateway"], {
  cwd: path.resolve(import.meta.dirname, "../.."),
  stdio: "inherit",
});
if (built.status !== 0) throw new Error("gateway build failed");

/** A fresh gateway per scenario, so one scenario's teardown does not weigh on the next one's memory. */
const startGateway = () =>
  startGatewayProcess({
    redisUrl: redisHandle.url,
    namespace: ns,
    grpcPort,
    httpPort,
    // Every bench client comes from 127.0.0.1: lift the per-address stream cap.
    maxStreamsPerClient: streams * 2,
    nodeArgs: gatewayNodeArgs,
  });

const redis = new Redis(redisHandle.url);

// Payload size of a 30-symbol snapshot.
const snapshot = create(GetSnapshotResponseSchema, {
  updates: TOP30_USDT.map((s, i) => benchUpdate(s, 50_000_000_000 + i)),
});
const payload = {
  protobufBytes: toBinary(GetSnapshotResponseSchema, snapshot).length,
  jsonBytes: Buffer.byteLength(toJsonString(GetSnapshotResponseSchema, snapshot)),
};

let shape: PublishShape = "bursts";
const publisher = startPublisher(
  { redis, namespace: ns, updatesPerSecond: rate, ...DEFAULT_PUBLISHER, writesPerBurst },
  () => shape,
);

interface Scenario {
  samples: number[];
  gatewaySamples: number[];
  timedStreams: number;
  liveStreams: number;
  gatewayCpuSeconds: number;
  messages: number;
  updatesDecoded: number;
  errors: number;
  stalledEnded: number;
  peakRssMb: number;
  gatewayCpuPercent: number;
  clientsCpuPercent: number;
  /** The gateway's own /metrics at the end: where its memory is. */
  gatewayMemoryMb: Record<string, number>;
  /** Fan-out flushes (quantcore_gateway_fanout_flush_seconds): how long each held the event loop. */
  flushes: string;
}

async function scenario(stalledShare: number): Promise<Scenario> {
  const gw = await startGateway();
  const out: Scenario = {
    samples: [],
    gatewaySamples: [],
    timedStreams: 0,
    liveStreams: 0,
    gatewayCpuSeconds: 0,
    messages: 0,
    updatesDecoded: 0,
    errors: 0,
    stalledEnded: 0,
    peakRssMb: 0,
    gatewayCpuPercent: 0,
    clientsCpuPercent: 0,
    gatewayMemoryMb: {},
    flushes: "",
  };
  const stalledCount = Math.round(streams * stalledShare);
  const live = streams - stalledCount;
  out.liveStreams = live;
  const request = Buffer.from(
    toBinary(StreamMarketUpdatesRequestSchema, create(StreamMarketUpdatesRequestSchema, { allowBatches: batches })),
  );
  const requestFrame = Buffer.concat([Buffer.from([0, 0, 0, 0, request.length]), request]);
  // The live clients, spread over worker threads (stream i goes to thread i % clientThreads).
  const workers = Array.from({ length: clientThreads }, (_, t) => {
    const config: ClientsConfig = {
      grpcPort,
      httpPort,
      requestFrame,
      indexes: Array.from({ length: live }, (_, i) => i).filter((i) => i % clientThreads === t),
      webPercent,
    };
    return new Worker(new URL("./gateway-clients-worker.mjs", import.meta.url), {
      workerData: { kind: "gateway-clients", config },
    });
  });
  const tell = (m: ToClients) => workers.forEach((w) => w.postMessage(m));
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once("message", () => resolve());
          w.once("error", reject);
        }),
    ),
  );
  const stalledStreams = grpcStreams(grpcPort, requestFrame);
  // Stalled clients never read: flow control stalls them at the gateway.
  for (let i = 0; i < stalledCount; i++) {
    const s = stalledStreams.open();
    s.pause();
    s.on("close", () => s.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM && out.stalledEnded++);
  }
  await sleep(3000); // connect and settle before measuring
  tell({ kind: "measure", on: true });
  const cpuStart = cpuSeconds(gw.pid);
  const benchCpuStart = process.cpuUsage(); // every thread of this process: the clients and the publisher
  for (let t = 0; t < seconds; t++) {
    await sleep(1000);
    out.peakRssMb = Math.max(out.peakRssMb, Math.round(rssMb(gw.pid)));
  }
  tell({ kind: "measure", on: false });
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  for (const name of [
    "process_resident_memory_bytes",
    "nodejs_heap_size_total_bytes",
    "nodejs_heap_size_used_bytes",
    "nodejs_external_memory_bytes",
  ]) {
    const v = new RegExp(`^${name} (\\S+)`, "m").exec(metrics)?.[1];
    if (v) out.gatewayMemoryMb[name] = Math.round(Number(v) / 2 ** 20);
  }
  out.flushes = flushesOf(metrics);
  out.gatewayCpuSeconds = cpuSeconds(gw.pid) - cpuStart;
  out.gatewayCpuPercent = Math.round((out.gatewayCpuSeconds / seconds) * 100);
  const benchCpu = process.cpuUsage(benchCpuStart);
  out.clientsCpuPercent = Math.round((benchCpu.user + benchCpu.system) / 1e4 / seconds);
  const results = await Promise.all(
    workers.map(
      (w) =>
        new Promise<ClientsResult>((resolve, reject) => {
          w.once("message", resolve);
          w.once("error", reject);
          w.postMessage({ kind: "stop" } satisfies ToClients);
        }),
    ),
  );
  for (const r of results) {
    for (const v of r.samples) out.samples.push(v);
    for (const v of r.gatewaySamples) out.gatewaySamples.push(v);
    out.timedStreams += r.timedStreams;
    out.messages += r.messages;
    out.updatesDecoded += r.updatesDecoded;
    out.errors += r.errors;
  }
  await Promise.all(workers.map((w) => w.terminate()));
  stalledStreams.close();
  await gw.stop();
  return out;
}

const measured: { shape: PublishShape; clean: Scenario; stalled: Scenario }[] = [];
for (const sh of shapes) {
  shape = sh;
  const clean = await scenario(0);
  measured.push({ shape: sh, clean, stalled: await scenario(0.1) });
}
await publisher.stop();
// The floor in the same run: plain node writing the same shapes to as many streams (gateway-burst-floor.ts).
const floor = measureFloorInChild(shapes, seconds, streams);

/**
 * Gateway CPU-seconds per million stream deliveries (one update reaching one stream): a figure
 * that travels between machines and holds on a shared one. Deliveries are counted, not assumed:
 * the updates the timed streams got while measuring, scaled to every live stream.
 */
const deliveriesOf = (s: Scenario) => (s.samples.length / Math.max(1, s.timedStreams)) * s.liveStreams;
const cpuPerMillion = (s: Scenario) => Math.round((s.gatewayCpuSeconds / (deliveriesOf(s) / 1e6)) * 100) / 100;

const SHAPE_LABEL: Record<PublishShape, string> = {
  bursts: `bursts (deployed: every symbol once per ${DEFAULT_PUBLISHER.burstIntervalMs} ms, in ${writesPerBurst} writes ${DEFAULT_PUBLISHER.writeGapMs} ms apart)`,
  uniform: "uniform (a write every 10 ms)",
};
const rows: Record<string, Summary> = {};
const perShape: Record<string, unknown> = {};
for (const { shape: sh, clean, stalled } of measured) {
  const live = summarize(clean.samples);
  rows[`${sh}: redis publish -> client receive, ${streams} streams`] = live;
  rows[`${sh}: same, 10% of streams stalled`] = summarize(stalled.samples);
  // Where it waits: before the fan-out's flush starts (gateway_send_us), or after it (pass, kernel, client).
  rows[`${sh}: of which redis publish -> gateway flush start`] = summarize(clean.gatewaySamples);
  const f = floor[sh]!;
  rows[`${sh}: floor (plain node writing to ${streams} streams, no gateway)`] = f;
  const x = (a: number, b: number) => `${Math.round((a / b) * 100) / 100}x`;
  perShape[sh] = {
    publish: SHAPE_LABEL[sh],
    overFloor: `p50 ${x(live.p50, f.p50)}, p99 ${x(live.p99, f.p99)}`,
    gatewayCpuSecondsPerMillionDeliveries: cpuPerMillion(clean),
    gatewayCpuSecondsPerMillionDeliveriesWithStalled: cpuPerMillion(stalled),
    gatewayCpuPercent: clean.gatewayCpuPercent,
    gatewayCpuPercentWithStalled: stalled.gatewayCpuPercent,
    gatewayPeakRssMb: clean.peakRssMb,
    gatewayPeakRssMbWithStalled: stalled.peakRssMb,
    gatewayMemoryAtEndMb: clean.gatewayMemoryMb,
    gatewayMemoryAtEndMbWithStalled: stalled.gatewayMemoryMb,
    deliveriesPerSecond: Math.round(deliveriesOf(clean) / seconds),
    fanoutFlushes: clean.flushes,
    // Per stream: messages (writes of one or more updates) and updates per message.
    messagesPerSecondPerStream: Math.round((clean.messages / clean.liveStreams / seconds) * 10) / 10,
    benchProcessCpuPercent: clean.clientsCpuPercent,
    messagesReceived: clean.messages,
    updatesTimed: clean.updatesDecoded,
    streamErrors: clean.errors + stalled.errors,
    stalledStreamsEnded: `${stalled.stalledEnded} of ${Math.round(streams * 0.1)} (RESOURCE_EXHAUSTED)`,
  };
}
// The load (1,000 streams) is bench/results/gateway.*; other sizes get their own files.
const setting = [
  streams !== 1000 && `BENCH_STREAMS=${streams}`,
  webPercent !== 50 && `BENCH_GRPC_WEB_PERCENT=${webPercent}`,
  rate !== 300 && `BENCH_UPDATES_PER_SECOND=${rate}`,
  !batches && "BENCH_BATCHES=false",
  clientThreads !== 1 && `BENCH_CLIENT_THREADS=${clientThreads}`,
  shapes.join(",") !== "bursts,uniform" && `BENCH_SHAPES=${shapes.join(",")}`,
  writesPerBurst !== DEFAULT_PUBLISHER.writesPerBurst && `BENCH_WRITES_PER_BURST=${writesPerBurst}`,
].filter(Boolean);
writeResults(
  setting.length === 0 ? "gateway" : `gateway-${streams}-streams`,
  {
    command: [...setting, `BENCH_SECONDS=${seconds}`, "npm run gateway -w @quantcore/bench"].join(" "),
    machine: "2 cores, 24 GiB; Redis, the gateway process and every client on one host",
    gateway:
      "apps/gateway/dist/main.mjs (npm run build -w @quantcore/app-gateway) on plain node, as its image runs it; a fresh process per scenario",
    streams: `${streams}: ${100 - webPercent}% native gRPC over HTTP/2 (50 streams per connection), ${webPercent}% gRPC-Web over HTTP/1.1 (a socket each); each subscribed to all 30 symbols`,
    clients:
      "lean raw-protocol readers in worker threads of the bench process (frames split and counted); every 10th stream of each protocol times every live update (reading only its publish timestamp)",
    batches: batches ? "allowed (several symbols per message when ready together)" : "off (one update per message)",
    updatesPerSecond: rate,
    measuredSeconds: seconds,
    clientThreads,
    ...perShape,
    snapshot30SymbolsProtobufBytes: payload.protobufBytes,
    snapshot30SymbolsJsonBytes: payload.jsonBytes,
    date: new Date().toISOString(),
  },
  rows,
  "ms",
);
redis.disconnect();
await redisHandle.stop();
process.exit(0);
