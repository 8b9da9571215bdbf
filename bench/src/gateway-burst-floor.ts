// The latency floor under the gateway bench's burst shape: plain node writing the same bytes to the
// same streams on the same schedule, with no gateway, Redis or protobuf around it. Every 100 ms, 4
// writes 2 ms apart; each write is one frame (stamped with its send time) to every stream: 500
// HTTP/1.1 sockets and 500 HTTP/2 streams (50 per session), as the gateway bench connects them.
// The readers run in one thread of another process, as the bench's clients do, and every 10th
// stream times every frame. What this reports is what the machine itself gives a write that
// reaches 1,000 streams in that shape: the gateway bench's p99 is compared against it.
// Usage: npm run gateway-burst-floor -w @quantcore/bench  [BENCH_SECONDS=15] [BENCH_STREAMS=1000]
import { fork, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { EnvReader, nowUs, sleep } from "@quantcore/runtime";
import { STREAMS_PER_SESSION, connectSockets, h2StreamServer, openH2Streams } from "./floor-streams.js";
import { DEFAULT_PUBLISHER, readPublishShapes, type PublishShape } from "./gateway-publisher.js";
import { resultsDir, summarize, writeResults, type Summary } from "./report.js";

/** ~8 updates of the bench's MarketUpdate in one batch message: what one burst write carries per stream. */
const FRAME_BYTES = 800;
const TIMED_EVERY = 10;

interface Writable {
  write(b: Buffer): boolean;
}

/** A frame's head: how many writes it carries (byte 0), then each one's scheduled send time (float64 µs). */
const MAX_WRITES_PER_FRAME = 4;
const HEAD_BYTES = 8 + 8 * MAX_WRITES_PER_FRAME;

/** The gateway bench's two publish shapes (gateway-publisher.ts), as write schedules. */
const SHAPES: Record<PublishShape, { burstIntervalMs: number; writesPerBurst: number; writeGapMs: number }> = {
  bursts: DEFAULT_PUBLISHER,
  uniform: { burstIntervalMs: 10, writesPerBurst: 1, writeGapMs: 0 },
};

/** Reader side: walks fixed-size frames and, on timed streams, records now - stamp (ms) per write carried. */
function frameTimer(timed: boolean, latenciesMs: number[]) {
  const head = Buffer.alloc(HEAD_BYTES);
  let pos = 0; // offset within the current frame
  return (chunk: Buffer) => {
    if (!timed) return;
    let off = 0;
    while (off < chunk.length) {
      if (pos < HEAD_BYTES) {
        const n = Math.min(HEAD_BYTES - pos, chunk.length - off);
        chunk.copy(head, pos, off, off + n);
        pos += n;
        off += n;
        if (pos === HEAD_BYTES) {
          const now = nowUs();
          for (let i = 0; i < head[0]!; i++) latenciesMs.push((now - head.readDoubleLE(8 + 8 * i)) / 1000);
        }
      } else {
        const n = Math.min(FRAME_BYTES - pos, chunk.length - off);
        pos += n;
        off += n;
      }
      if (pos === FRAME_BYTES) pos = 0;
    }
  };
}

function reader(h2Port: number, perProtocol: number): void {
  const latenciesMs: number[] = [];
  let h1 = 0;
  const server = net.createServer((s) => s.on("data", frameTimer(h1++ % TIMED_EVERY === 0, latenciesMs)));
  server.listen(0, "127.0.0.1", () => process.send!({ h1Port: (server.address() as net.AddressInfo).port }));
  openH2Streams(h2Port, perProtocol, (i) => frameTimer(i % TIMED_EVERY === 0, latenciesMs));
  process.on("message", (m) => {
    if (m === "reset") latenciesMs.length = 0;
    if (m === "report") process.send!({ latenciesMs, cpu: process.cpuUsage() });
  });
}

async function main(): Promise<void> {
  const env = new EnvReader();
  const seconds = env.int("BENCH_SECONDS", 15, { min: 3 });
  const streams = env.int("BENCH_STREAMS", 1000, { min: 2 * STREAMS_PER_SESSION });
  const shapes = readPublishShapes(env);
  env.done();
  const perProtocol = Math.floor(streams / 2 / STREAMS_PER_SESSION) * STREAMS_PER_SESSION;
  const server = await h2StreamServer();
  const child: ChildProcess = fork(import.meta.filename, ["reader", String(server.port), String(perProtocol)], {
    execArgv: process.execArgv,
  });
  const { h1Port } = await new Promise<{ h1Port: number }>((r) =>
    child.once("message", (m) => r(m as { h1Port: number })),
  );
  const sockets = await connectSockets(h1Port, perProtocol);
  await server.opened(perProtocol);
  const all: Writable[] = [...sockets, ...server.streams];
  let writes = 0;
  // Writes fall due on a fixed schedule (as the bench's publisher sends them, whatever the gateway is
  // doing); a pass writes everything due in one frame per stream, as the gateway's fan-out does with
  // what one Redis read brought, and each write is timed from when it fell due.
  const run = async (shape: PublishShape, ms: number) => {
    const { burstIntervalMs, writesPerBurst, writeGapMs } = SHAPES[shape];
    const until = performance.now() + ms;
    const startUs = nowUs();
    const due = (i: number) =>
      startUs + (Math.floor(i / writesPerBurst) * burstIntervalMs + (i % writesPerBurst) * writeGapMs) * 1000;
    let nextWrite = 0; // the next write not yet sent
    while (performance.now() < until) {
      const now = nowUs();
      const frame = Buffer.alloc(FRAME_BYTES, 1);
      let k = 0;
      while (due(nextWrite) <= now && k < MAX_WRITES_PER_FRAME) frame.writeDoubleLE(due(nextWrite++), 8 + 8 * k++);
      if (k > 0) {
        frame[0] = k;
        for (const s of all) s.write(frame);
        writes += all.length;
      }
      // Yield to I/O, then wake when the next write falls due (at once when it already has).
      await sleep(Math.max(0, (due(nextWrite) - nowUs()) / 1000));
    }
  };
  const readerReport = () =>
    new Promise<{ latenciesMs: number[]; cpu: NodeJS.CpuUsage }>((r) => {
      child.once("message", (m) => r(m as { latenciesMs: number[]; cpu: NodeJS.CpuUsage }));
      child.send("report");
    });
  const rows: Record<string, Summary> = {};
  const cpuByShape: Record<string, unknown> = {};
  for (const shape of shapes) {
    await run(shape, 2000);
    child.send("reset");
    writes = 0;
    const cpu0 = process.cpuUsage();
    const reader0 = (await readerReport()).cpu;
    await run(shape, seconds * 1000);
    const cpu = process.cpuUsage(cpu0);
    await sleep(500);
    const report = await readerReport();
    const readerCpuS = (report.cpu.user + report.cpu.system - reader0.user - reader0.system) / 1e6;
    rows[`${shape}: node write -> reader receive, ${all.length} streams (no gateway)`] = summarize(report.latenciesMs);
    cpuByShape[shape] = {
      writerCpuPercent: Math.round(((cpu.user + cpu.system) / 1e4 / seconds) * 10) / 10,
      writerCpuUsPerStreamWrite: Math.round(((cpu.user + cpu.system) / writes) * 100) / 100,
      readerCpuPercent: Math.round((readerCpuS / seconds) * 1000) / 10,
    };
  }
  writeResults(
    "gateway-burst-floor",
    {
      command: `BENCH_SECONDS=${seconds} npm run gateway-burst-floor -w @quantcore/bench`,
      what: "plain node (no gateway, Redis or protobuf), the gateway bench's publish shapes (bursts: every 100 ms, 4 writes 2 ms apart; uniform: a write every 10 ms) to 1,000 streams (half HTTP/1.1 sockets, half HTTP/2 streams 50 per session); writes fall due on that schedule and a pass sends everything due in one frame per stream; readers in one thread of another process; every 10th stream timed from when each write fell due",
      frameBytes: FRAME_BYTES,
      measuredSeconds: seconds,
      ...cpuByShape,
      date: new Date().toISOString(),
    },
    rows,
    "ms",
  );
  child.kill();
  sockets.forEach((s) => s.destroy());
  server.close();
  process.exit(0);
}

/**
 * Runs this floor in a child process (quiet: nothing else of the caller's is running) and returns
 * its latency per shape, for the gateway bench to hold its own figures against in the same run.
 */
export function measureFloorInChild(shapes: readonly PublishShape[], seconds: number, streams: number) {
  const r = spawnSync(process.execPath, [...process.execArgv, import.meta.filename], {
    env: {
      ...process.env,
      BENCH_SHAPES: shapes.join(","),
      BENCH_SECONDS: String(seconds),
      BENCH_STREAMS: String(streams),
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (r.status !== 0) throw new Error(`gateway-burst-floor exited with ${r.status}`);
  const { results } = JSON.parse(readFileSync(`${resultsDir()}/gateway-burst-floor.json`, "utf8")) as {
    results: Record<string, Summary>;
  };
  const byShape: Partial<Record<PublishShape, Summary>> = {};
  for (const [row, summary] of Object.entries(results)) byShape[row.split(":")[0] as PublishShape] = summary;
  return byShape;
}

if (process.argv[2] === "reader") reader(Number(process.argv[3]), Number(process.argv[4]));
else if (process.argv[1] === import.meta.filename) await main();
