// Gateway fan-out: N concurrent streams (half native gRPC over h2c, half gRPC-Web over HTTP/1.1),
// each subscribed to all 30 symbols, while a publisher writes 300 updates/s into Redis the way
// compute does. Reports the gateway layer (Redis publish -> client receive) p50/p99 and the
// gateway process's RSS, then the same with 10% stalled clients; plus the payload size of a
// 30-symbol snapshot as protobuf vs JSON.
// Usage: npm run gateway -w @quantcore/bench  [BENCH_STREAMS=1000] [BENCH_SECONDS=20]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import path from "node:path";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { TOP30_USDT } from "@quantcore/ingest";
import {
  GetSnapshotResponseSchema,
  HopTimestampsSchema,
  MarketDataService,
  MarketUpdateSchema,
  SignalsSchema,
  StreamMarketUpdatesRequestSchema,
} from "@quantcore/proto";
import { EnvReader, nowUs, sleep, waitFor } from "@quantcore/runtime";
import { freePort, startRedis } from "@quantcore/stack";
import { summarize, writeResults, type Summary } from "./report.js";

const env = new EnvReader();
const streams = env.int("BENCH_STREAMS", 1000, { min: 2 });
const seconds = env.int("BENCH_SECONDS", 20, { min: 3 });
const rate = env.int("BENCH_UPDATES_PER_SECOND", 300, { min: 1 });
// Clients let the gateway put several symbols into one message (StreamMarketUpdatesRequest.allow_batches).
const batches = env.oneOf("BENCH_BATCHES", ["true", "false"] as const, "true") === "true";
env.done();

const redisHandle = await startRedis();
const ns = "benchgw";
const grpcPort = await freePort();
const httpPort = await freePort();
const gw = spawn(
  process.execPath,
  ["--import", "tsx", path.resolve(import.meta.dirname, "../../apps/gateway/src/main.ts")],
  {
    env: {
      ...process.env,
      REDIS_URL: redisHandle.url,
      REDIS_NAMESPACE: ns,
      GATEWAY_GRPC_PORT: String(grpcPort),
      GATEWAY_HTTP_PORT: String(httpPort),
      LOG_LEVEL: "warn",
      // Every bench client comes from 127.0.0.1: lift the per-address stream cap.
      GATEWAY_MAX_STREAMS_PER_CLIENT: String(streams * 2),
    },
    stdio: "inherit",
  },
);
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gw.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
await waitFor(() => fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.ok), "gateway up", {
  timeoutMs: 30_000,
});

const redis = new Redis(redisHandle.url);
const update = (symbol: string, id: number) =>
  create(MarketUpdateSchema, {
    symbol,
    updateId: BigInt(id),
    signals: create(SignalsSchema, {
      obi1: 0.31,
      obi5: 0.12,
      obi10: -0.05,
      obi20: 0.02,
      bestBidPrice: 61837.63,
      bestBidQuantity: 3.78826,
      bestAskPrice: 61837.64,
      bestAskQuantity: 1.54698,
      midPrice: 61837.635,
      spreadBps: 0.0016,
      microprice: 61837.637,
      weightedObi: 0.2,
      ofi1s: 1.5,
      ofi10s: -3.25,
    }),
    timestamps: create(HopTimestampsSchema, { ingestReceiveUs: nowUs(), computePublishUs: nowUs() }),
  });

// Payload size of a 30-symbol snapshot.
const snapshot = create(GetSnapshotResponseSchema, {
  updates: TOP30_USDT.map((s, i) => update(s, 50_000_000_000 + i)),
});
const payload = {
  protobufBytes: toBinary(GetSnapshotResponseSchema, snapshot).length,
  jsonBytes: Buffer.byteLength(toJsonString(GetSnapshotResponseSchema, snapshot)),
};

let nextId = 1;
let publishing = true;
const publisher = (async () => {
  const intervalMs = 10;
  const perTick = rate / (1000 / intervalMs);
  let carry = 0;
  while (publishing) {
    carry += perTick;
    const multi = redis.multi();
    for (; carry >= 1; carry--) {
      const u = update(TOP30_USDT[nextId % 30]!, nextId++);
      u.timestamps!.computePublishUs = nowUs();
      const bytes = Buffer.from(toBinary(MarketUpdateSchema, u));
      multi.hset(`${ns}:state`, u.symbol, bytes).publish(`${ns}:updates`, bytes);
    }
    await multi.exec();
    await sleep(intervalMs);
  }
})();

interface Scenario {
  samples: number[];
  received: number;
  errors: number;
  stalledEnded: number;
}

async function scenario(stalledShare: number): Promise<Scenario> {
  const abort = new AbortController();
  const out: Scenario = { samples: [], received: 0, errors: 0, stalledEnded: 0 };
  const stalledCount = Math.round(streams * stalledShare);
  const live = streams - stalledCount;
  // Many streams share a few HTTP/2 connections (as bots would); gRPC-Web needs one socket each.
  const h2 = Array.from({ length: 10 }, () =>
    createClient(MarketDataService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpcPort}` })),
  );
  const web = createClient(
    MarketDataService,
    createGrpcWebTransport({ baseUrl: `http://127.0.0.1:${httpPort}`, httpVersion: "1.1" }),
  );
  let measuring = false;
  const runs: Promise<void>[] = [];
  for (let i = 0; i < live; i++) {
    const client = i % 2 === 0 ? h2[i % 10]! : web;
    const sampled = i % 10 === 0;
    runs.push(
      (async () => {
        try {
          for await (const r of client.streamMarketUpdates(
            { symbols: [], allowBatches: batches },
            { signal: abort.signal },
          )) {
            const list =
              r.event.case === "update" ? [r.event.value] : r.event.case === "batch" ? r.event.value.updates : [];
            const t = nowUs();
            for (const u of list) {
              if (u.snapshot) continue;
              out.received++;
              if (measuring && sampled) out.samples.push((t - u.timestamps!.computePublishUs) / 1000);
            }
          }
        } catch {
          if (!abort.signal.aborted) out.errors++;
        }
      })(),
    );
  }
  const sessions: http2.ClientHttp2Session[] = [];
  const req = Buffer.from(toBinary(StreamMarketUpdatesRequestSchema, create(StreamMarketUpdatesRequestSchema, {})));
  for (let i = 0; i < stalledCount; i++) {
    if (i % 50 === 0) sessions.push(http2.connect(`http://127.0.0.1:${grpcPort}`));
    const s = sessions.at(-1)!.request({
      ":method": "POST",
      ":path": "/quantcore.v1.MarketDataService/StreamMarketUpdates",
      "content-type": "application/grpc",
      te: "trailers",
    });
    s.end(Buffer.concat([Buffer.from([0, 0, 0, 0, req.length]), req]));
    s.pause(); // never reads: flow control stalls it at the gateway
    s.on("error", () => {});
    s.on("close", () => s.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM && out.stalledEnded++);
  }
  await sleep(3000); // connect and settle before measuring
  measuring = true;
  let peakRss = 0;
  for (let t = 0; t < seconds; t++) {
    await sleep(1000);
    peakRss = Math.max(peakRss, rssMb());
  }
  measuring = false;
  (out as Scenario & { peakRssMb: number }).peakRssMb = Math.round(peakRss);
  abort.abort();
  for (const s of sessions) s.destroy();
  await Promise.all(runs);
  return out;
}

const clean = await scenario(0);
const stalled = await scenario(0.1);
publishing = false;
await publisher;

const rows: Record<string, Summary> = {
  [`redis publish -> client receive, ${streams} streams`]: summarize(clean.samples),
  [`same, 10% of streams stalled`]: summarize(stalled.samples),
};
writeResults(
  "gateway",
  {
    command: "npm run gateway -w @quantcore/bench",
    machine: "2 cores, 24 GiB; Redis, the gateway process and every client on one host",
    streams: `${streams} (half native gRPC over 10 HTTP/2 connections, half gRPC-Web over HTTP/1.1), each subscribed to all 30 symbols`,
    batches: batches ? "allowed (several symbols per message when ready together)" : "off (one update per message)",
    updatesPerSecond: rate,
    measuredSeconds: seconds,
    latencySampledStreams: "every 10th stream",
    gatewayPeakRssMb: (clean as Scenario & { peakRssMb: number }).peakRssMb,
    gatewayPeakRssMbWithStalled: (stalled as Scenario & { peakRssMb: number }).peakRssMb,
    updatesReceived: clean.received,
    streamErrors: clean.errors,
    stalledStreamsEnded: `${stalled.stalledEnded} of ${Math.round(streams * 0.1)} (RESOURCE_EXHAUSTED)`,
    snapshot30SymbolsProtobufBytes: payload.protobufBytes,
    snapshot30SymbolsJsonBytes: payload.jsonBytes,
    date: new Date().toISOString(),
  },
  rows,
  "ms",
);
redis.disconnect();
gw.kill("SIGTERM");
await new Promise((r) => gw.once("exit", r));
await redisHandle.stop();
process.exit(0);
