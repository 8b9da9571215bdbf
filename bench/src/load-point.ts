// One point of the load sweep: a fresh topic, group and Redis namespace; the load generator at
// the point's rate; the pipeline as deployed (ingest supervisor + shards, compute instances, the
// gateway; each its own OS process) and the observing client. Waits until every symbol is live,
// warms up, measures, and stops every process it started before returning.
import path from "node:path";
import { Redis } from "ioredis";
import { TOP30_USDT } from "@quantcore/ingest";
import { sleep, waitFor } from "@quantcore/runtime";
import { createTopics, freePort } from "@quantcore/stack";
import { DEFAULT_FLOOR, nearestFloor, type FloorResult } from "./kafka-floor.js";
import { checkPoint } from "./load-checks.js";
import type { ClientProgress, ClientReport } from "./load-protocol.js";
import type { KafkaCounters } from "./load-kafka.js";
import { appCommand, forkTs, launch, nextMessage, stopAll, type AppMode, type Child } from "./load-procs.js";
import type { FromSim } from "./load-sim.js";
import { ProcSampler, childrenOf, round } from "./proc-stats.js";
import { summarizePoint, type PointResult, type Sample } from "./load-summary.js";

export interface PointSettings {
  brokers: string[];
  redisUrl: string;
  kafkaPid: number;
  redisPid: number;
  shards: number;
  computeInstances: number;
  syntheticTickMs: number;
  replayRecorded: boolean;
  secondsPerPoint: number;
  warmupSeconds: number;
  readyTimeoutMs: number;
  /** Saturated when a stage delivers less than this share of the offered rate. */
  deliveredShare: number;
  modes: Record<string, AppMode>;
  logDir: string;
  run: string;
}

const is =
  <K extends string>(kind: K) =>
  <T>(m: unknown): m is T =>
    (m as { kind?: string })?.kind === kind;

/** PUBLISH calls Redis executed so far (scripts' calls included): compute's writes to qc:updates. */
async function publishCount(redis: Redis): Promise<number> {
  const info = await redis.info("commandstats");
  return Number(/cmdstat_publish:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

/** Waits until nothing more is produced and the group has committed all of it. */
async function drained(counters: KafkaCounters, topic: string, group: string): Promise<void> {
  let produced = -1;
  let stableSince = performance.now();
  await waitFor(
    async () => {
      const o = await counters.offsets(topic, group);
      if (o.produced !== produced) [produced, stableSince] = [o.produced, performance.now()];
      return o.lag === 0 && performance.now() - stableSince >= 2000;
    },
    `${topic}: compute caught up with the stopped feed`,
    { timeoutMs: 300_000, intervalMs: 500 },
  );
}

export async function runPoint(
  s: PointSettings,
  index: number,
  offeredPerSecond: number,
  floors: FloorResult[],
  counters: KafkaCounters,
): Promise<PointResult> {
  const topic = `load_${s.run}_${index}`;
  const group = `load-${s.run}-${index}`;
  const ns = `load${s.run}p${index}`;
  const logDir = path.join(s.logDir, `point-${index}-${offeredPerSecond}`);
  await createTopics(s.brokers, [
    { name: topic, partitions: 30 },
    { name: `${topic}.dlq`, partitions: 3 },
  ]);
  const redis = new Redis(s.redisUrl);
  redis.on("error", () => {}); // a failed INFO fails the point; reconnect noise after a Ctrl-C is not news
  const startedAtMs = performance.now();
  try {
    // The two recorded symbols (when replayed) bring their own rate; the rest share the offered load.
    const perSymbolPerSecond = offeredPerSecond / (TOP30_USDT.length - (s.replayRecorded ? 2 : 0));
    const sim = forkTs(
      "binance-sim",
      path.join(import.meta.dirname, "load-sim.ts"),
      {
        SIM_UPDATES_PER_SECOND_PER_SYMBOL: String(perSymbolPerSecond),
        SIM_TICK_MS: String(s.syntheticTickMs),
        SIM_REPLAY_RECORDED: String(s.replayRecorded),
      },
      logDir,
    );
    const simReady = await nextMessage(sim, is("ready")<Extract<FromSim, { kind: "ready" }>>, "simulator", 60_000);
    const simEvents = async () => {
      sim.proc.send({ kind: "stats" });
      return (await nextMessage(sim, is("stats")<Extract<FromSim, { kind: "stats" }>>, "sim stats", 10_000))
        .depthEvents;
    };
    const common = {
      KAFKA_BROKERS: s.brokers.join(","),
      KAFKA_TOPIC: topic,
      REDIS_URL: s.redisUrl,
      REDIS_NAMESPACE: ns,
      // Several instances on one host: each its own free metrics port.
      INGEST_METRICS_PORT: "0",
      COMPUTE_METRICS_PORT: "0",
    };
    const ingest = launch(
      "ingest",
      appCommand("ingest", "supervisor", s.modes.ingest!),
      { ...common, BINANCE_WS_URL: simReady.wsUrl, BINANCE_REST_URL: simReady.restUrl, SHARD_COUNT: String(s.shards) },
      logDir,
    );
    const computes = Array.from({ length: s.computeInstances }, (_, k) =>
      launch(
        `compute-${k}`,
        appCommand("compute", "main", s.modes.compute!),
        { ...common, KAFKA_GROUP_ID: group },
        logDir,
      ),
    );
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const gateway = launch(
      "gateway",
      appCommand("gateway", "main", s.modes.gateway!),
      { ...common, GATEWAY_GRPC_PORT: String(grpcPort), GATEWAY_HTTP_PORT: String(httpPort) },
      logDir,
    );
    const core: Child[] = [sim, ingest, ...computes, gateway];
    const assertAlive = () => {
      const dead = core.filter((c) => c.proc.exitCode !== null || c.proc.signalCode !== null);
      if (dead.length > 0) throw new Error(`${dead.map((c) => c.name).join(", ")} exited; logs in ${logDir}`);
    };
    const alive =
      <T>(check: () => Promise<T>) =>
      async () => (assertAlive(), check());
    await waitFor(
      alive(async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok),
      "gateway /healthz",
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
    const client = forkTs(
      "client",
      path.join(import.meta.dirname, "load-client.ts"),
      {
        GATEWAY_URL: `http://127.0.0.1:${grpcPort}`,
        SYMBOLS: TOP30_USDT.join(","),
        CHECK_SYMBOLS: simReady.replayed.join(","),
      },
      logDir,
    );
    core.push(client);
    await waitFor(
      alive(async () => {
        client.proc.send({ kind: "progress" });
        const p = await nextMessage(client, is("progress")<ClientProgress>, "client progress", 10_000);
        return p.liveSymbols >= TOP30_USDT.length;
      }),
      `live updates of all ${TOP30_USDT.length} symbols at the client`,
      { timeoutMs: s.readyTimeoutMs, intervalMs: 500 },
    );
    const startupSeconds = round((performance.now() - startedAtMs) / 1000, 1);
    await sleep(s.warmupSeconds * 1000);
    assertAlive();

    const sampler = new ProcSampler([
      { name: `ingest shards (${s.shards})`, pids: () => childrenOf(ingest.pid) },
      { name: "ingest supervisor", pids: () => [ingest.pid] },
      { name: `compute (${s.computeInstances})`, pids: () => computes.map((c) => c.pid) },
      { name: "gateway", pids: () => [gateway.pid] },
      { name: "kafka (JVM)", pids: () => [s.kafkaPid] },
      { name: "redis-server", pids: () => [s.redisPid] },
      { name: "client", pids: () => [client.pid] },
      { name: "binance-sim (load generator)", pids: () => [sim.pid] },
      { name: "bench coordinator", pids: () => [process.pid] },
    ]);
    // Counters sampled once a second; rates are least-squares slopes over the window, so the
    // 500 ms step of compute's offset commits does not bias a short point.
    const sample = async (): Promise<Sample> => {
      const [offsets, published, emitted] = await Promise.all([
        counters.offsets(topic, group),
        publishCount(redis),
        simEvents(),
      ]);
      return { t: performance.now() / 1000, ...offsets, published, emitted };
    };
    const samples = [await sample()];
    sampler.start();
    client.proc.send({ kind: "measure" });
    const endMs = performance.now() + s.secondsPerPoint * 1000;
    while (performance.now() < endMs) {
      await sleep(Math.min(1000, endMs - performance.now()));
      sampler.tick();
      assertAlive();
      if (performance.now() < endMs) samples.push(await sample());
    }
    client.proc.send({ kind: "report" });
    const [report, last] = await Promise.all([
      nextMessage(client, is("report")<ClientReport>, "client report", 60_000),
      sample(),
    ]);
    samples.push(last);
    const usage = sampler.finish(last.emitted - samples[0]!.emitted);
    // The feed stops; once compute has taken every record, the point is read back from outside.
    sim.proc.send({ kind: "stop" });
    await drained(counters, topic, group);
    const checks = await checkPoint({ brokers: s.brokers, topic, redis, namespace: ns, recorded: report.checked });
    return summarizePoint(s.deliveredShare, {
      offeredPerSecond,
      perSymbolPerSecond,
      startupSeconds,
      seconds: usage.seconds,
      samples,
      report,
      usage,
      checks,
      // The floor in the pipeline's own traffic shape (a producer per shard, bursts as the
      // simulator emits them); the uniform one (one producer, a request every 10 ms) beside it.
      floor: nearestFloor(floors, offeredPerSecond, (f) => f.producers === s.shards),
      uniformFloor: nearestFloor(
        floors,
        offeredPerSecond,
        (f) => f.producers === 1 && f.tickMs === DEFAULT_FLOOR.tickMs,
      ),
    });
  } finally {
    redis.disconnect();
    await stopAll();
  }
}
