// Gateway fan-out: N concurrent streams (half native gRPC over h2c, half gRPC-Web over HTTP/1.1),
// each subscribed to all 30 symbols, while a publisher writes 300 updates/s into Redis the way
// compute does. Reports the gateway layer (Redis publish -> client receive) p50/p99 and the
// gateway process's RSS, then the same with 10% stalled clients; plus the payload size of a
// 30-symbol snapshot as protobuf vs JSON.
// Usage: npm run gateway -w @quantcore/bench  [BENCH_STREAMS=1000] [BENCH_SECONDS=20]
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import path from "node:path";
import { create, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { TOP30_USDT } from "@quantcore/ingest";
import {
  GetSnapshotResponseSchema,
  HopTimestampsSchema,
  MarketUpdateSchema,
  SignalsSchema,
  StreamMarketUpdatesRequestSchema,
  StreamMarketUpdatesResponseSchema,
} from "@quantcore/proto";
import { EnvReader, nowUs, sleep, waitFor } from "@quantcore/runtime";
import { freePort, startRedis } from "@quantcore/stack";
import { summarize, writeResults, type Summary } from "./report.js";

const env = new EnvReader();
const streams = env.int("BENCH_STREAMS", 1000, { min: 2 });
const seconds = env.int("BENCH_SECONDS", 20, { min: 3 });
const rate = env.int("BENCH_UPDATES_PER_SECOND", 300, { min: 1 });
const webPercent = env.int("BENCH_GRPC_WEB_PERCENT", 50, { min: 0, max: 100 });
// Clients let the gateway put several symbols into one message (StreamMarketUpdatesRequest.allow_batches).
const batches = env.oneOf("BENCH_BATCHES", ["true", "false"] as const, "true") === "true";
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
async function startGateway() {
  const gw = spawn(
    process.execPath,
    [...gatewayNodeArgs, "--enable-source-maps", path.resolve(import.meta.dirname, "../../apps/gateway/dist/main.mjs")],
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
  await waitFor(() => fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.ok), "gateway up", {
    timeoutMs: 30_000,
  });
  return {
    pid: gw.pid!,
    async stop() {
      gw.kill("SIGTERM");
      await new Promise((r) => gw.once("exit", r));
    },
  };
}
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

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
  messages: number;
  updatesDecoded: number;
  errors: number;
  stalledEnded: number;
  peakRssMb: number;
  gatewayCpuPercent: number;
  clientsCpuPercent: number;
  /** The gateway's own /metrics at the end: where its memory is. */
  gatewayMemoryMb: Record<string, number>;
}

/** Splits a byte stream into gRPC / gRPC-Web / Connect frames (flags byte, 4-byte length, message). */
class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (flags: number, message: Buffer) => void) {}
  push(chunk: Buffer): void {
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 5) {
      const end = 5 + this.buf.readUInt32BE(1);
      if (this.buf.length < end) break;
      this.onFrame(this.buf[0]!, this.buf.subarray(5, end));
      this.buf = this.buf.subarray(end);
    }
  }
}

/** An HTTP/1.1 response: checks the status, then hands on the chunked body's bytes. */
class ChunkedBodyReader {
  private buf: Buffer = Buffer.alloc(0);
  private state: "head" | "size" | "data" | "crlf" = "head";
  private left = 0;
  constructor(private readonly onBody: (chunk: Buffer) => void) {}
  push(chunk: Buffer): void {
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.state === "head") {
        const end = this.buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = this.buf.subarray(0, end).toString("latin1");
        if (!/^HTTP\/1\.1 200/.test(head) || !/transfer-encoding: chunked/i.test(head)) {
          throw new Error(`unexpected response: ${head.split("\r\n")[0]}`);
        }
        this.buf = this.buf.subarray(end + 4);
        this.state = "size";
      } else if (this.state === "size") {
        const end = this.buf.indexOf("\r\n");
        if (end < 0) return;
        this.left = parseInt(this.buf.subarray(0, end).toString("latin1"), 16);
        this.buf = this.buf.subarray(end + 2);
        if (this.left === 0) return; // last chunk: the stream ended
        this.state = "data";
      } else if (this.state === "data") {
        if (this.buf.length === 0) return;
        const take = Math.min(this.left, this.buf.length);
        this.onBody(this.buf.subarray(0, take));
        this.buf = this.buf.subarray(take);
        this.left -= take;
        if (this.left === 0) this.state = "crlf";
      } else {
        if (this.buf.length < 2) return;
        this.buf = this.buf.subarray(2);
        this.state = "size";
      }
    }
  }
}

const cpuSeconds = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
};

async function scenario(stalledShare: number): Promise<Scenario> {
  const gw = await startGateway();
  const out: Scenario = {
    samples: [],
    messages: 0,
    updatesDecoded: 0,
    errors: 0,
    stalledEnded: 0,
    peakRssMb: 0,
    gatewayCpuPercent: 0,
    clientsCpuPercent: 0,
    gatewayMemoryMb: {},
  };
  let stopping = false;
  const stalledCount = Math.round(streams * stalledShare);
  const live = streams - stalledCount;
  const request = Buffer.from(
    toBinary(StreamMarketUpdatesRequestSchema, create(StreamMarketUpdatesRequestSchema, { allowBatches: batches })),
  );
  const requestFrame = Buffer.concat([Buffer.from([0, 0, 0, 0, request.length]), request]);
  let measuring = false;
  // Lean clients, so the observer on this shared 2-core host costs little: each splits frames and
  // counts them; every 10th stream also decodes every message and times it.
  const onFrameOf = (sampled: boolean) => (flags: number, message: Buffer) => {
    if (flags !== 0) return; // gRPC-Web trailers
    out.messages++;
    if (!sampled) return;
    const t = nowUs();
    const r = fromBinary(StreamMarketUpdatesResponseSchema, message);
    const list = r.event.case === "update" ? [r.event.value] : r.event.case === "batch" ? r.event.value.updates : [];
    for (const u of list) {
      if (u.snapshot) continue;
      out.updatesDecoded++;
      if (measuring) {
        const ms = (t - u.timestamps!.computePublishUs) / 1000;
        out.samples.push(ms);
        if (process.env.BENCH_DEBUG && ms > 50) console.log("slow", Math.round(ms), new Date(t / 1000).toISOString());
      }
    }
  };
  const onEnd = () => {
    if (!stopping) out.errors++;
  };
  // Native gRPC: many streams share a few HTTP/2 connections, as bots' channels do.
  const sessions: http2.ClientHttp2Session[] = [];
  const h2Stream = (i: number) => {
    if (i % 50 === 0) {
      const session = http2.connect(`http://127.0.0.1:${grpcPort}`);
      session.on("error", () => {});
      sessions.push(session);
    }
    const s = sessions.at(-1)!.request({
      ":method": "POST",
      ":path": "/quantcore.v1.MarketDataService/StreamMarketUpdates",
      "content-type": "application/grpc",
      te: "trailers",
    });
    s.end(requestFrame);
    s.on("error", () => {});
    return s;
  };
  // gRPC-Web over HTTP/1.1, as browsers speak it: one socket per stream.
  // gRPC-Web over HTTP/1.1, as browsers speak it: one socket per stream (a bare socket and a
  // chunked-body reader: node's HTTP client cost more CPU than the gateway on this shared host).
  const webSockets: net.Socket[] = [];
  const webStream = (reader: FrameReader) => {
    const socket = net.connect(httpPort, "127.0.0.1");
    socket.setNoDelay(true);
    socket.write(
      `POST /quantcore.v1.MarketDataService/StreamMarketUpdates HTTP/1.1\r\nHost: 127.0.0.1:${httpPort}\r\n` +
        `Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: ${requestFrame.length}\r\n\r\n`,
    );
    socket.write(requestFrame);
    const body = new ChunkedBodyReader((c) => reader.push(c));
    socket.on("data", (c: Buffer) => body.push(c));
    socket.on("error", () => {});
    socket.on("close", onEnd);
    webSockets.push(socket);
  };
  let h2Count = 0;
  let h2Live = 0;
  let webCount = 0;
  for (let i = 0; i < live; i++) {
    // Streams alternate by protocol as evenly as the mix allows; every 10th of each protocol is timed.
    const web = Math.floor(((i + 1) * webPercent) / 100) > Math.floor((i * webPercent) / 100);
    const nth = web ? webCount++ : h2Live++;
    const reader = new FrameReader(onFrameOf(nth % 10 === 0));
    if (!web) {
      const s = h2Stream(h2Count++);
      s.on("data", (c: Buffer) => reader.push(c));
      s.on("close", onEnd);
    } else webStream(reader);
  }
  // Stalled clients never read: flow control stalls them at the gateway.
  for (let i = 0; i < stalledCount; i++) {
    const s = h2Stream(h2Count++);
    s.pause();
    s.on("close", () => s.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM && out.stalledEnded++);
  }
  await sleep(3000); // connect and settle before measuring
  measuring = true;
  const cpuStart = cpuSeconds(gw.pid);
  const ownCpuStart = process.cpuUsage();
  for (let t = 0; t < seconds; t++) {
    await sleep(1000);
    out.peakRssMb = Math.max(out.peakRssMb, Math.round(rssMb(gw.pid)));
  }
  measuring = false;
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
  out.gatewayCpuPercent = Math.round(((cpuSeconds(gw.pid) - cpuStart) / seconds) * 100);
  const ownCpu = process.cpuUsage(ownCpuStart);
  out.clientsCpuPercent = Math.round((ownCpu.user + ownCpu.system) / 1e4 / seconds);
  stopping = true;
  for (const s of webSockets) s.destroy();
  for (const s of sessions) s.destroy();
  await gw.stop();
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
// The load (1,000 streams) is bench/results/gateway.*; other sizes get their own files.
const setting = [
  streams !== 1000 && `BENCH_STREAMS=${streams}`,
  webPercent !== 50 && `BENCH_GRPC_WEB_PERCENT=${webPercent}`,
  rate !== 300 && `BENCH_UPDATES_PER_SECOND=${rate}`,
  !batches && "BENCH_BATCHES=false",
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
      "lean raw-protocol readers in the bench process (frames split and counted); every 10th stream of each protocol decodes every message and is timed",
    batches: batches ? "allowed (several symbols per message when ready together)" : "off (one update per message)",
    updatesPerSecond: rate,
    measuredSeconds: seconds,
    gatewayPeakRssMb: clean.peakRssMb,
    gatewayPeakRssMbWithStalled: stalled.peakRssMb,
    gatewayMemoryAtEndMb: clean.gatewayMemoryMb,
    gatewayMemoryAtEndMbWithStalled: stalled.gatewayMemoryMb,
    gatewayCpuPercent: clean.gatewayCpuPercent,
    gatewayCpuPercentWithStalled: stalled.gatewayCpuPercent,
    benchProcessCpuPercent: clean.clientsCpuPercent,
    messagesReceived: clean.messages,
    updatesDecodedOnTimedStreams: clean.updatesDecoded,
    streamErrors: clean.errors + stalled.errors,
    stalledStreamsEnded: `${stalled.stalledEnded} of ${Math.round(streams * 0.1)} (RESOURCE_EXHAUSTED)`,
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
