// Ingest shard throughput and memory: one ingest shard (diff mode, 30 symbols) runs in this
// process against the Binance simulator running in a child process (bench/src/ingest-sim.ts,
// synthetic books at BENCH_RATE diff events/s per symbol), producing to a fresh 30-partition
// topic on a real Kafka.
// Phase 1 (after all books synced + BENCH_WARMUP_SECONDS): BENCH_SECONDS of 1 s samples of
// frames/s offered by the simulator, frames/s processed and records/s published by ingest,
// and the event-loop utilisation of both processes (which one is the limit).
// Phase 2 (soak): at least BENCH_SOAK_SECONDS and until BENCH_SOAK_FRAMES frames (default one
// hour of Binance @100ms traffic for 30 symbols = 1.08M) went through, at most
// BENCH_SOAK_MAX_SECONDS; RSS and heapUsed after a forced GC every 5 s, with the linear slope.
// Usage: npm run ingest -w @quantcore/bench  [BENCH_RATE=667] [BENCH_SECONDS=30]
//   [BENCH_WARMUP_SECONDS=10] [BENCH_SOAK_SECONDS=120] [BENCH_SOAK_FRAMES=1080000]
//   [BENCH_SOAK_MAX_SECONDS=600] [BENCH_KAFKA_CLIENT=kafkajs|platformatic]
import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { logLevel } from "kafkajs";
import {
  DEFAULT_INGEST_OPTIONS,
  KAFKA_CLIENT_LIBRARIES,
  TOP30_USDT,
  createIngestService,
  type IngestService,
  type IngestStats,
} from "@quantcore/ingest";
import { EnvReader, sleep, waitFor, createKafka } from "@quantcore/runtime";
import { createTopics, startStack, type StackHandle } from "@quantcore/stack";
import type { SimMessage, SimSample } from "./ingest-sim.js";
import { gc, memoryRows, soak } from "./ingest-soak.js";
import { produceProbe } from "./ingest-produce-probe.js";
import { simulatorWindow, summary, writeIngestMarkdown, type Row } from "./ingest-report.js";
import { summarize, writeResults } from "./report.js";

const env = new EnvReader();
// 667/s x 30 symbols = 20,010 frames/s offered: the 20,000 target.
const rate = env.int("BENCH_RATE", 667, { min: 1, max: 100_000 });
const seconds = env.int("BENCH_SECONDS", 30, { min: 5 });
const warmupSeconds = env.int("BENCH_WARMUP_SECONDS", 10, { min: 0 });
const soakSeconds = env.int("BENCH_SOAK_SECONDS", 120, { min: 0 });
const soakFrames = env.int("BENCH_SOAK_FRAMES", 3600 * 10 * 30, { min: 0 });
const soakMaxSeconds = env.int("BENCH_SOAK_MAX_SECONDS", 600, { min: 0 });
// The order-book producer's library (the app's INGEST_KAFKA_CLIENT).
const kafkaClient = env.oneOf("BENCH_KAFKA_CLIENT", KAFKA_CLIENT_LIBRARIES, DEFAULT_INGEST_OPTIONS.kafkaClient);
env.done();

const symbols = [...TOP30_USDT];
const hourOfTraffic = 3600 * 10 * symbols.length; // Binance @100ms: at most 10 diffs/s per symbol
const MB = 2 ** 20;
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

let stack: StackHandle | undefined;
let sim: ChildProcess | undefined;
let ingest: IngestService | undefined;
let ingestStopped = false;

/** Stops everything started here, whatever state the run is in. */
async function cleanup(): Promise<void> {
  if (ingest && !ingestStopped) {
    ingestStopped = true;
    await ingest.stop().catch((err: unknown) => console.error("ingest stop:", err));
  }
  if (sim && sim.exitCode === null && sim.signalCode === null) {
    const child = sim;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(killer);
  }
  await stack?.stop().catch((err: unknown) => console.error("stack stop:", err));
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`${sig}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** Fails the run if the simulator child or Kafka went away (the numbers would be meaningless). */
function checkAlive(st: IngestStats): void {
  if (sim && (sim.exitCode !== null || sim.signalCode !== null)) throw new Error("simulator child exited mid-run");
  if (st.producerBacklog >= 50_000) throw new Error(`Kafka is not taking records (backlog ${st.producerBacklog})`);
}

async function run(): Promise<void> {
  const runId = randomUUID().slice(0, 8);
  const topic = `ob_bench_ingest_${runId}`;
  stack = await startStack({ topics: [] });
  const brokers = stack.kafka!.brokers;
  await createTopics(brokers, [
    { name: topic, partitions: 30 },
    { name: `${topic}.dlq`, partitions: 1 },
  ]);

  // ---- simulator child --------------------------------------------------------------------
  const simSamples: SimSample[] = [];
  const child = fork(
    path.join(import.meta.dirname, "ingest-sim.ts"),
    [JSON.stringify({ syntheticSymbols: symbols, syntheticUpdatesPerSecond: rate, replayFiles: [] })],
    { execArgv: ["--import", "tsx"], cwd: path.resolve(import.meta.dirname, ".."), stdio: "inherit" },
  );
  sim = child;
  const simUrls = await new Promise<{ wsUrl: string; restUrl: string }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("simulator child not ready within 60 s")), 60_000);
    child.once("exit", (code) => reject(new Error(`simulator child exited early (code ${code})`)));
    child.on("message", (m: SimMessage) => {
      if (m.type === "ready") {
        clearTimeout(t);
        resolve(m);
      } else simSamples.push(m);
    });
  });

  // ---- ingest shard (this process) ---------------------------------------------------------
  // Its produce requests counted: requests/s, records per request, round trip.
  const produce = produceProbe(brokers);
  ingest = createIngestService(
    {
      wsBaseUrl: simUrls.wsUrl,
      restBaseUrl: simUrls.restUrl,
      symbols,
      universe: TOP30_USDT,
      kafkaBrokers: brokers,
      kafkaTopic: topic,
      deadLetterTopic: `${topic}.dlq`,
      streamMode: "diff",
      kafkaClient,
    },
    { kafka: produce.kafka },
  );
  const svc = ingest;
  const tStart = performance.now();
  await svc.start();
  await waitFor(() => svc.stats().syncedSymbols === symbols.length, "every book synced", {
    timeoutMs: 180_000,
    intervalMs: 100,
  });
  const syncSeconds = (performance.now() - tStart) / 1000;
  console.log(`all ${symbols.length} books synced after ${syncSeconds.toFixed(1)} s; warm-up ${warmupSeconds} s`);
  await sleep(warmupSeconds * 1000);

  // ---- phase 1: throughput -----------------------------------------------------------------
  const processed: number[] = [];
  const published: number[] = [];
  const ingestElu: number[] = [];
  const backlog: number[] = [];
  gc();
  const rssAfterWarmupMb = process.memoryUsage().rss / MB;
  const p1Start = svc.stats();
  const p1Cpu = process.cpuUsage();
  const p1Produce = { ...produce };
  produce.record = true;
  const p1StartMs = performance.timeOrigin + performance.now();
  const p1EluStart = performance.eventLoopUtilization();
  let prev = p1Start;
  let prevT = performance.now();
  let prevElu = performance.eventLoopUtilization();
  const loopT0 = prevT;
  for (let i = 1; i <= seconds; i++) {
    await sleep(Math.max(0, loopT0 + i * 1000 - performance.now()));
    const now = performance.now();
    const st = svc.stats();
    const elu = performance.eventLoopUtilization(prevElu);
    const dt = (now - prevT) / 1000;
    processed.push((st.frames - prev.frames) / dt);
    published.push((st.published - prev.published) / dt);
    ingestElu.push(elu.utilization * 100);
    backlog.push(st.producerBacklog);
    checkAlive(st);
    prev = st;
    prevT = now;
    prevElu = performance.eventLoopUtilization();
  }
  const p1End = svc.stats();
  const p1EndMs = performance.timeOrigin + performance.now();
  produce.record = false;
  const p1CpuUsed = process.cpuUsage(p1Cpu);
  const p1Elu = performance.eventLoopUtilization(p1EluStart).utilization * 100;
  const p1Seconds = (p1EndMs - p1StartMs) / 1000;

  const { offered, simElu, offeredMean, simEluMean, simCpuMean } = simulatorWindow(simSamples, p1StartMs, p1EndMs);
  const ingestCpu = (100 * (p1CpuUsed.user + p1CpuUsed.system)) / 1000 / (p1EndMs - p1StartMs);
  const p1Requests = produce.requests - p1Produce.requests;
  const p1Records = p1End.published - p1Start.published;
  const produceStats = {
    requestsPerSecond: round(p1Requests / p1Seconds),
    recordsPerRequest: round(p1Records / p1Requests),
    requestRoundTripMsP50: round(summarize(produce.durations).p50),
    requestRoundTripMsP99: round(summarize(produce.durations).p99),
  };
  produce.durations = [];
  const processedMean = (p1End.frames - p1Start.frames) / p1Seconds;
  const publishedMean = (p1End.published - p1Start.published) / p1Seconds;
  console.log(
    `phase 1: offered ${Math.round(offeredMean)} frames/s (sim ELU ${round(simEluMean)}%), processed ${Math.round(processedMean)} frames/s, ` +
      `published ${Math.round(publishedMean)} records/s, ingest ELU ${round(p1Elu)}% (CPU ${round(ingestCpu)}%); ` +
      `sim CPU ${round(simCpuMean)}%; produce ${JSON.stringify(produceStats)}`,
  );

  // ---- phase 2: soak -----------------------------------------------------------------------
  const soaked = await soak(svc, { soakSeconds, soakFrames, soakMaxSeconds }, (st) => {
    checkAlive(st);
    backlog.push(st.producerBacklog);
  });

  // ---- stop ingest; what really reached Kafka ----------------------------------------------
  ingestStopped = true;
  await svc.stop();
  const final: IngestStats = svc.stats();
  const admin = createKafka({ clientId: "bench-ingest", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const inKafka = offsets.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
  const lastSim = simSamples.at(-1);

  const rows: Record<string, Row> = {
    "frames/s offered (simulator)": summary(offered),
    "frames/s processed (ingest)": summary(processed),
    "records/s published (ingest)": summary(published),
    "ingest event-loop utilisation (%)": summary(ingestElu),
    "simulator event-loop utilisation (%)": summary(simElu),
  };
  const memRows = memoryRows(soaked, rssAfterWarmupMb);
  const meta = {
    command: `${kafkaClient === DEFAULT_INGEST_OPTIONS.kafkaClient ? "" : `BENCH_KAFKA_CLIENT=${kafkaClient} `}npm run ingest -w @quantcore/bench`,
    machine: "2 cores, 24 GiB; Kafka, Redis, simulator (child process) and ingest on one host",
    setup: `1 ingest shard, diff mode, ${symbols.length} synthetic symbols; simulator asked for ${rate} diffs/s per symbol (${rate * symbols.length} frames/s); order-book producer on ${kafkaClient}`,
    targetFramesPerSecond: 20_000,
    warmupSeconds,
    measuredSeconds: round(p1Seconds),
    secondsToSyncAllBooks: round(syncSeconds),
    requestedFramesPerSecond: rate * symbols.length,
    offeredFramesPerSecondMean: Math.round(offeredMean),
    processedFramesPerSecondMean: Math.round(processedMean),
    publishedRecordsPerSecondMean: Math.round(publishedMean),
    ingestEluPercentMean: round(p1Elu),
    simulatorEluPercentMean: round(simEluMean),
    ingestCpuPercentMean: round(ingestCpu),
    simulatorCpuPercentMean: round(simCpuMean),
    ingestBusyMicrosPerFrame: round((p1Elu / 100 / processedMean) * 1e6),
    ingestCpuMicrosPerFrame: round((ingestCpu / 100 / processedMean) * 1e6),
    kafkaProduce: produceStats,
    producerBacklogMax: Math.max(...backlog),
    limitedBy:
      simEluMean > 90 && p1Elu < 90
        ? "simulator (its event loop is saturated; ingest is not)"
        : p1Elu > 90
          ? "ingest (its event loop is saturated)"
          : "neither event loop saturated",
    soak: {
      wallSeconds: round(soaked.wallSeconds),
      frames: soaked.frames,
      trafficMinutesCarried: round((soaked.frames / hourOfTraffic) * 60),
      oneHourOfTrafficCarried: soaked.frames >= hourOfTraffic,
      samples: soaked.mem.length,
      gcBeforeEachSample: true,
      ...memRows,
    },
    totals: {
      framesSentBySimulator: lastSim?.framesSent,
      framesProcessed: final.frames,
      recordsPublished: final.published,
      recordsInKafka: inKafka,
      gaps: final.gaps,
      resets: final.resets,
      stale: final.stale,
      reconnects: final.reconnects,
      snapshotRequests: final.snapshotRequests,
      droppedWhileBackedUp: final.droppedWhileBackedUp,
      rejected: final.rejected,
    },
    date: new Date().toISOString(),
  };
  writeResults("ingest", meta, rows, "per-second samples");

  console.log(writeIngestMarkdown(meta, rows, memRows, warmupSeconds));
}

let failed = false;
try {
  await run();
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);
