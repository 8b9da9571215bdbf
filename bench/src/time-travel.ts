// Time-travel bench (issue #16 acceptance): the deployed topology (load generator, ingest
// supervisor + shards, compute, ONE replay worker, gateway: each its own OS process, bundles on
// plain node), the log filled for some minutes at the demo's rate, a live client measuring e2e
// latency, then K concurrent time-travel clients (K = 1, 2, 4, 8 ...) from the log's start at each
// replay speed (10x, 0 = full speed). Per point: replay records/s per client and in total, the
// worker's CPU, the live client's p50/p99 with replays beside the baseline without, and the errors
// (RESOURCE_EXHAUSTED beyond the worker's capacity).
// Usage: npm run time-travel -w @quantcore/bench
//   [BENCH_TT_FILL_MINUTES=5] [BENCH_TT_CLIENTS=1,2,4,8] [BENCH_TT_SPEEDS=10,0] [BENCH_TT_SECONDS_PER_POINT=30]
//   [BENCH_TT_BASELINE_SECONDS=30] [BENCH_TT_WORKER_SESSIONS=4] [BENCH_TT_WORKER_BUDGET=<the worker's default>]
//   [BENCH_TT_SYMBOLS=<all 30>]
//   [BENCH_TT_RATE_PER_SYMBOL=10] [BENCH_SHARDS=3] [BENCH_RESULTS_NAME=time-travel] [BENCH_NOTE=...]
import { randomUUID } from "node:crypto";
import path from "node:path";
import { EnvReader, TOP30_USDT, nowUs, sleep, waitFor } from "@quantcore/runtime";
import { createTopics, freePort, startStack, type StackHandle } from "@quantcore/stack";
import type { ClientProgress, ClientReport } from "./load-protocol.js";
import { appCommand, buildApps, forkTs, launch, nextMessage, stopAll, type Child } from "./load-procs.js";
import type { FromSim } from "./load-sim.js";
import { ProcSampler, childrenOf } from "./proc-stats.js";
import type { FromTtClient, ToTtClient } from "./time-travel-client.js";
import { writeTimeTravelResults, type TtBaseline, type TtPoint } from "./time-travel-report.js";

/** Every default of the time-travel bench, in one place. */
export const TIME_TRAVEL_BENCH_DEFAULTS = Object.freeze({
  fillMinutes: 5,
  clients: [1, 2, 4, 8],
  speeds: [10, 0],
  secondsPerPoint: 30,
  baselineSeconds: 30,
  /** The replay worker's TIME_TRAVEL_MAX_SESSIONS (its own default). */
  workerSessions: 4,
  /** The demo's feed: BTCUSDT/ETHUSDT replayed as recorded, the 28 others synthetic at this rate. */
  ratePerSymbol: 10,
  shards: 3,
  readyTimeoutMs: 180_000,
  /** Between points: the worker ends the last point's sessions (abandoned: their alive keys gone). */
  coolDownSeconds: 5,
  resultsName: "time-travel",
  shutdownDeadlineMs: 60_000,
});

const D = TIME_TRAVEL_BENCH_DEFAULTS;
const env = new EnvReader();
const fillMinutes = Number(env.string("BENCH_TT_FILL_MINUTES", String(D.fillMinutes)));
const ints = (name: string, fallback: readonly number[]) => env.list(name, fallback.map(String)).map(Number);
const clients = ints("BENCH_TT_CLIENTS", D.clients);
const speeds = ints("BENCH_TT_SPEEDS", D.speeds);
const secondsPerPoint = env.int("BENCH_TT_SECONDS_PER_POINT", D.secondsPerPoint, { min: 3 });
const baselineSeconds = env.int("BENCH_TT_BASELINE_SECONDS", D.baselineSeconds, { min: 3 });
const workerSessions = env.int("BENCH_TT_WORKER_SESSIONS", D.workerSessions, { min: 1 });
/** The worker's TIME_TRAVEL_MAX_TOTAL_RECORDS_PER_SECOND; 0 = its own default. */
const workerBudget = env.int("BENCH_TT_WORKER_BUDGET", 0, { min: 0 });
const symbols = env.list("BENCH_TT_SYMBOLS", [...TOP30_USDT]);
const ratePerSymbol = env.int("BENCH_TT_RATE_PER_SYMBOL", D.ratePerSymbol, { min: 1 });
const shards = env.int("BENCH_SHARDS", D.shards, { min: 1, max: 30 });
const resultsName = env.string("BENCH_RESULTS_NAME", D.resultsName);
const note = env.string("BENCH_NOTE", "");
env.done();
if (!(fillMinutes > 0)) throw new Error(`BENCH_TT_FILL_MINUTES must be > 0, got ${fillMinutes}`);
for (const [name, list, min] of [
  ["BENCH_TT_CLIENTS", clients, 1],
  ["BENCH_TT_SPEEDS", speeds, 0],
] as const) {
  if (list.length === 0 || list.some((n) => !(Number.isInteger(n) && n >= min)))
    throw new Error(`${name} must be a comma-separated list of integers >= ${min}, got ${JSON.stringify(list)}`);
}

const is =
  <K extends string>(kind: K) =>
  <T>(m: unknown): m is T =>
    (m as { kind?: string })?.kind === kind;
const log = (msg: string) => console.error(`[time-travel] ${msg}`);

let stack: StackHandle | undefined;
let shutdownPromise: Promise<void> | undefined;
let interrupted = false;
function shutdown(): Promise<void> {
  shutdownPromise ??= (async () => {
    setTimeout(() => process.exit(1), D.shutdownDeadlineMs).unref(); // the 'exit' handlers SIGKILL the rest
    await stopAll(5_000);
    await stack?.stop();
  })();
  return shutdownPromise;
}
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: stopping every process the bench started`);
    void shutdown().finally(() => process.exit(130));
  });

const run = randomUUID().slice(0, 8);
const startedAt = new Date();
const baselines: TtBaseline[] = [];
const points: TtPoint[] = [];
let exitCode = 0;
try {
  stack = await startStack({ topics: [] });
  const brokers = stack.kafka!.brokers;
  const logDir = path.join(stack.logDir, `time-travel-${run}`);
  const topic = `tt_${run}`;
  await createTopics(brokers, [
    { name: topic, partitions: 30 },
    { name: `${topic}.dlq`, partitions: 3 },
  ]);
  const modes = buildApps(["ingest", "compute", "gateway"]);
  const sim = forkTs(
    "binance-sim",
    path.join(import.meta.dirname, "load-sim.ts"),
    { SIM_UPDATES_PER_SECOND_PER_SYMBOL: String(ratePerSymbol), SIM_REPLAY_RECORDED: "true" },
    logDir,
  );
  const simReady = await nextMessage(sim, is("ready")<Extract<FromSim, { kind: "ready" }>>, "simulator", 60_000);
  const common = {
    KAFKA_BROKERS: brokers.join(","),
    KAFKA_TOPIC: topic,
    REDIS_URL: stack.redis!.url,
    REDIS_NAMESPACE: `tt${run}`,
    INGEST_METRICS_PORT: "0",
    COMPUTE_METRICS_PORT: "0",
  };
  const ingest = launch(
    "ingest",
    appCommand("ingest", "supervisor", modes.ingest!),
    { ...common, BINANCE_WS_URL: simReady.wsUrl, BINANCE_REST_URL: simReady.restUrl, SHARD_COUNT: String(shards) },
    logDir,
  );
  const compute = launch(
    "compute",
    appCommand("compute", "main", modes.compute!),
    { ...common, KAFKA_GROUP_ID: `tt-${run}` },
    logDir,
  );
  const worker = launch(
    "replay-worker",
    appCommand("compute", "main", modes.compute!),
    {
      ...common,
      COMPUTE_MODE: "replay",
      TIME_TRAVEL_MAX_SESSIONS: String(workerSessions),
      ...(workerBudget > 0 ? { TIME_TRAVEL_MAX_TOTAL_RECORDS_PER_SECOND: String(workerBudget) } : {}),
    },
    logDir,
  );
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const gateway = launch(
    "gateway",
    appCommand("gateway", "main", modes.gateway!),
    { ...common, GATEWAY_GRPC_PORT: String(grpcPort), GATEWAY_HTTP_PORT: String(httpPort) },
    logDir,
  );
  const core: Child[] = [sim, ingest, compute, worker, gateway];
  const assertAlive = () => {
    const dead = core.filter((c) => c.proc.exitCode !== null || c.proc.signalCode !== null);
    if (dead.length > 0) throw new Error(`${dead.map((c) => c.name).join(", ")} exited; logs in ${logDir}`);
  };
  await waitFor(async () => (assertAlive(), (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok), "gateway", {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  const gatewayUrl = `http://127.0.0.1:${grpcPort}`;
  const live = forkTs(
    "live-client",
    path.join(import.meta.dirname, "load-client.ts"),
    { GATEWAY_URL: gatewayUrl, SYMBOLS: TOP30_USDT.join(",") },
    logDir,
  );
  const tt = forkTs(
    "tt-clients",
    path.join(import.meta.dirname, "time-travel-client.ts"),
    { GATEWAY_URL: gatewayUrl },
    logDir,
  );
  core.push(live, tt);
  await waitFor(
    async () => {
      assertAlive();
      live.proc.send({ kind: "progress" });
      return (await nextMessage(live, is("progress")<ClientProgress>, "progress", 10_000)).liveSymbols >= 30;
    },
    "live updates of all 30 symbols",
    { timeoutMs: D.readyTimeoutMs, intervalMs: 500 },
  );
  // Every symbol's records are in the log from here on: the replays start here.
  const startTimeUs = nowUs();
  log(`filling the log for ${fillMinutes} min at the demo's rate`);
  for (let left = fillMinutes * 60_000; left > 0 && !interrupted; left -= 10_000) {
    await sleep(Math.min(10_000, left));
    assertAlive();
  }
  const fillSeconds = (nowUs() - startTimeUs) / 1e6;
  const sampler = () =>
    new ProcSampler([
      { name: "replay worker", pids: () => [worker.pid] },
      { name: "gateway", pids: () => [gateway.pid] },
      { name: "compute", pids: () => [compute.pid] },
      { name: "ingest", pids: () => [ingest.pid, ...childrenOf(ingest.pid)] },
      { name: "kafka (JVM)", pids: () => [stack!.kafka!.pid] },
      { name: "redis-server", pids: () => [stack!.redis!.pid] },
    ]);
  /** The live client's window of `seconds` (and the processes' CPU over it). */
  const measure = async (seconds: number) => {
    const s = sampler();
    s.start();
    live.proc.send({ kind: "measure" });
    for (let left = seconds * 1000; left > 0 && !interrupted; left -= 1000) {
      await sleep(Math.min(1000, left));
      s.tick();
      assertAlive();
    }
    live.proc.send({ kind: "report" });
    const report = await nextMessage(live, is("report")<ClientReport>, "live report", 60_000);
    return { report, usage: s.finish(0) };
  };
  const baseline = async (when: string) => {
    log(`baseline (${when}): the live client alone for ${baselineSeconds} s`);
    const { report, usage } = await measure(baselineSeconds);
    baselines.push({ when, report, usage });
  };
  const meta = () => ({
    command: "npm run time-travel -w @quantcore/bench",
    ...(note ? { note } : {}),
    started: startedAt.toISOString(),
    topology: `binance-sim, ingest supervisor + ${shards} shards, compute, 1 replay worker (TIME_TRAVEL_MAX_SESSIONS=${workerSessions}, TIME_TRAVEL_MAX_TOTAL_RECORDS_PER_SECOND=${workerBudget > 0 ? workerBudget : "default"}), 1 gateway, a live client and the replaying clients: each its own process, one host`,
    feed: `demo rate: BTCUSDT/ETHUSDT replayed as recorded + 28 synthetic symbols at ${ratePerSymbol}/s`,
    fillSeconds: Math.round(fillSeconds),
    replayedSymbols: symbols.length,
    secondsPerPoint,
    logs: logDir,
  });
  await baseline("before the replays");
  for (const speed of speeds) {
    for (const k of clients) {
      if (interrupted) break;
      log(`${k} replaying client(s) at ${speed === 0 ? "full speed" : `${speed}x`} for ${secondsPerPoint} s`);
      tt.proc.send({ kind: "run", clients: k, speed, startTimeUs, symbols } satisfies ToTtClient);
      const { report, usage } = await measure(secondsPerPoint);
      tt.proc.send({ kind: "report" } satisfies ToTtClient);
      const streams = (await nextMessage(tt, is("report")<Extract<FromTtClient, { kind: "report" }>>, "tt", 30_000))
        .streams;
      tt.proc.send({ kind: "stop" } satisfies ToTtClient);
      await nextMessage(tt, is("stopped")<FromTtClient>, "tt stopped", 60_000);
      points.push({ speed, clients: k, streams, live: report, usage });
      writeTimeTravelResults(resultsName, meta(), baselines, points);
      await sleep(D.coolDownSeconds * 1000);
    }
  }
  if (!interrupted) await baseline("after the replays");
  writeTimeTravelResults(resultsName, meta(), baselines, points);
} catch (err) {
  if (!interrupted) {
    console.error("[time-travel] failed:", err);
    exitCode = 1;
  }
} finally {
  await shutdown();
}
process.exit(interrupted ? 130 : exitCode);
