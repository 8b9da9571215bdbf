// Load bench of the deployed topology: the ingest shard supervisor (N shards), K compute
// instances in one group and one gateway, each a separate OS process running its bundle on
// plain node as the images do, fed by the Binance-compatible server with all 30 symbols of the
// universe synthetic at a stated total rate, observed by an independent gRPC client subscribed
// to every symbol. Sweeps the offered load until saturation; a Kafka floor probe runs first.
// Usage: npm run load -w @quantcore/bench
//   [BENCH_RATES=300,1000,3000,10000,20000] [BENCH_SECONDS_PER_POINT=30] [BENCH_WARMUP_SECONDS=10]
//   [BENCH_SHARDS=3] [BENCH_COMPUTE_INSTANCES=1] [BENCH_SYNTHETIC_TICK_MS=10] [BENCH_REPLAY_RECORDED=true]
//   [BENCH_UNTIL_SATURATION=true when BENCH_RATES is unset] [BENCH_MAX_RATE=320000]
//   [BENCH_FLOOR_RATES=300,3000] [BENCH_FLOOR_SECONDS=15] [BENCH_RESULTS_NAME=load] [BENCH_NOTE=...]
import { randomUUID } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { DEFAULT_INGEST_OPTIONS } from "@quantcore/ingest";
import { EnvReader, TOP30_USDT } from "@quantcore/runtime";
import { startStack, type StackHandle } from "@quantcore/stack";
import { DEFAULT_FLOOR, burstPeriodMs, runKafkaFloor, type FloorResult } from "./kafka-floor.js";
import { KafkaCounters } from "./load-kafka.js";
import { runPoint, type PointSettings } from "./load-point.js";
import type { PointResult } from "./load-summary.js";
import { buildApps, stopAll } from "./load-procs.js";
import { writeLoadResults } from "./load-report.js";

/** Every default of the load bench, in one place. */
export const LOAD_DEFAULTS = Object.freeze({
  rates: [300, 1000, 3000, 10_000, 20_000],
  secondsPerPoint: 30,
  warmupSeconds: 10,
  shards: 3,
  computeInstances: 1,
  syntheticTickMs: 10,
  replayRecorded: true,
  /** After the listed rates: keep doubling until saturation, up to maxRate. */
  maxRate: 320_000,
  deliveredShare: 0.9,
  readyTimeoutMs: 180_000,
  floorRates: DEFAULT_FLOOR.rates,
  floorSeconds: DEFAULT_FLOOR.seconds,
  resultsName: "load",
  /** An orderly shutdown that takes longer than this ends with SIGKILLs. */
  shutdownDeadlineMs: 60_000,
});

const D = LOAD_DEFAULTS;
const env = new EnvReader();
const ratesGiven = (process.env.BENCH_RATES ?? "").trim() !== "";
const rates = env.list("BENCH_RATES", D.rates.map(String)).map(Number);
const secondsPerPoint = env.int("BENCH_SECONDS_PER_POINT", D.secondsPerPoint, { min: 3 });
const warmupSeconds = env.int("BENCH_WARMUP_SECONDS", D.warmupSeconds, { min: 0 });
const shards = env.int("BENCH_SHARDS", D.shards, { min: 1, max: 30 });
const computeInstances = env.int("BENCH_COMPUTE_INSTANCES", D.computeInstances, { min: 1, max: 30 });
const syntheticTickMs = env.int("BENCH_SYNTHETIC_TICK_MS", D.syntheticTickMs, { min: 1, max: 1000 });
const bool = (name: string, fallback: boolean) =>
  env.oneOf(name, ["true", "false"] as const, String(fallback) as "true" | "false") === "true";
const replayRecorded = bool("BENCH_REPLAY_RECORDED", D.replayRecorded);
const untilSaturation = bool("BENCH_UNTIL_SATURATION", !ratesGiven);
const maxRate = env.int("BENCH_MAX_RATE", D.maxRate, { min: 1 });
const floorRates = env.list("BENCH_FLOOR_RATES", D.floorRates.map(String)).map(Number);
const floorSeconds = env.int("BENCH_FLOOR_SECONDS", D.floorSeconds, { min: 1 });
const resultsName = env.string("BENCH_RESULTS_NAME", D.resultsName);
const note = env.string("BENCH_NOTE", "");
env.done();
for (const [name, list] of [
  ["BENCH_RATES", rates],
  ["BENCH_FLOOR_RATES", floorRates],
] as const) {
  if (list.length === 0 || list.some((r) => !(Number.isInteger(r) && r > 0))) {
    throw new Error(`${name} must be a comma-separated list of positive integers, got ${JSON.stringify(list)}`);
  }
}

let stack: StackHandle | undefined;
let counters: KafkaCounters | undefined;
let shutdownPromise: Promise<void> | undefined;
let interrupted = false;

/** Idempotent: stops every child (SIGKILL past its deadline), then Kafka and Redis. */
function shutdown(): Promise<void> {
  shutdownPromise ??= (async () => {
    setTimeout(() => {
      console.error("[load] shutdown deadline passed: killing what is left");
      process.exit(1); // the 'exit' handlers SIGKILL every child and the stack's daemons
    }, D.shutdownDeadlineMs).unref();
    await stopAll(5_000);
    await counters?.close().catch(() => {});
    await stack?.stop();
  })();
  return shutdownPromise;
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n[load] ${sig}: stopping every process the bench started`);
    void shutdown().finally(() => process.exit(130));
  });
}

const startedAt = new Date();
const run = randomUUID().slice(0, 8);
const floors: FloorResult[] = [];
const points: PointResult[] = [];
let exitCode = 0;
try {
  stack = await startStack({ topics: [] });
  const logDir = path.join(stack.logDir, `load-${run}`);
  const modes = buildApps(["ingest", "compute", "gateway"]);
  const brokers = stack.kafka!.brokers;
  for (const ratePerSecond of floorRates) {
    // Twice per rate: uniform (one producer, a request every 10 ms) and in the pipeline's shape
    // (a producer per shard, each sending its symbols' records together when the simulator steps).
    for (const shape of [
      { producers: 1, tickMs: DEFAULT_FLOOR.tickMs },
      { producers: shards, tickMs: burstPeriodMs(ratePerSecond, TOP30_USDT.length, syntheticTickMs) },
    ]) {
      if (interrupted) break;
      console.error(
        `[load] Kafka floor at ${ratePerSecond}/s, ${shape.producers} producer(s), ${shape.tickMs} ms ticks`,
      );
      floors.push(
        await runKafkaFloor({
          ...DEFAULT_FLOOR,
          ...shape,
          brokers,
          ratePerSecond,
          seconds: floorSeconds,
          logDir: path.join(logDir, "floor"),
        }),
      );
    }
  }
  counters = new KafkaCounters(brokers);
  await counters.connect();
  const settings: PointSettings = {
    brokers,
    redisUrl: stack.redis!.url,
    kafkaPid: stack.kafka!.pid,
    redisPid: stack.redis!.pid,
    shards,
    computeInstances,
    syntheticTickMs,
    replayRecorded,
    secondsPerPoint,
    warmupSeconds,
    readyTimeoutMs: D.readyTimeoutMs,
    deliveredShare: D.deliveredShare,
    modes,
    logDir,
    run,
  };
  const meta = () => ({
    command: "npm run load -w @quantcore/bench",
    ...(note ? { note } : {}),
    machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; Kafka, Redis, every service, the load generator and the client on one host`,
    topology: `ingest supervisor + ${shards} shard processes (order-book producer on ${process.env.INGEST_KAFKA_CLIENT || DEFAULT_INGEST_OPTIONS.kafkaClient}), ${computeInstances} compute instance(s) in one group, 1 gateway, 1 gRPC client (own process)`,
    apps: Object.entries(modes)
      .map(([app, m]) => `${app}: ${m === "bundle" ? "dist bundle on plain node" : "tsx (bundle build failed)"}`)
      .join(", "),
    feed: `binance-sim in its own process: ${replayRecorded ? "28 synthetic symbols + BTCUSDT/ETHUSDT replayed at recorded speed" : "all 30 symbols synthetic"}, offered rate split evenly over the ${replayRecorded ? "28 synthetic symbols (the recorded two add their own ~20/s)" : "30 symbols"}, synthetic tick ${syntheticTickMs} ms`,
    secondsPerPoint,
    warmupSeconds,
    saturation: `generator below ${D.deliveredShare * 100}% of offered, ingest or compute below ${D.deliveredShare * 100}% of emitted, or lag trending up by more than a second of offered traffic`,
    started: startedAt.toISOString(),
    logs: logDir,
  });
  const queue = [...rates];
  for (let i = 0; i < queue.length && !interrupted; i++) {
    const rate = queue[i]!;
    console.error(`[load] point ${i + 1}: ${rate} updates/s offered`);
    const point = await runPoint(settings, i, rate, floors, counters);
    points.push(point);
    writeLoadResults(resultsName, meta(), floors, points); // kept after every point: a cut-off run keeps what it measured
    if (point.checks.problems.length > 0) {
      console.error(`[load] checks failed at ${rate}/s: ${point.checks.problems.join("; ")}`);
      exitCode = 1;
    }
    if (point.saturated) {
      console.error(`[load] saturated at ${rate}/s: ${point.saturationReasons.join("; ")}`);
      break;
    }
    if (i === queue.length - 1 && untilSaturation && rate * 2 <= maxRate) queue.push(rate * 2);
  }
} catch (err) {
  if (!interrupted) {
    console.error("[load] failed:", err);
    exitCode = 1;
  }
} finally {
  await shutdown();
}
process.exit(interrupted ? 130 : exitCode);
