// One point of the load sweep: a fresh topic, group and Redis namespace; the load generator at
// the point's rate; the pipeline as deployed (ingest supervisor + shards, compute instances, the
// gateway; each its own OS process) and the observing client. Waits until every symbol is live,
// warms up, measures, and stops every process it started before returning.
import path from "node:path";
import { Redis } from "ioredis";
import { TOP30_USDT } from "@quantcore/ingest";
import { sleep, waitFor } from "@quantcore/runtime";
import { createTopics, freePort } from "@quantcore/stack";
import { nearestFloor, type FloorResult } from "./kafka-floor.js";
import type { ClientProgress, ClientReport } from "./load-protocol.js";
import type { KafkaCounters, Offsets } from "./load-kafka.js";
import { appCommand, forkTs, launch, nextMessage, stopAll, type AppMode, type Child } from "./load-procs.js";
import type { FromSim } from "./load-sim.js";
import { ProcSampler, childrenOf, round, type GroupUsage } from "./proc-stats.js";

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

export interface PointResult {
  offeredPerSecond: number;
  perSymbolPerSecond: number;
  measuredSeconds: number;
  /** Time from starting the processes to every symbol live at the client. */
  startupSeconds: number;
  perSecond: {
    simEmitted: number;
    ingestProduced: number;
    computeConsumed: number;
    redisPublished: number;
    clientReceived: number;
  };
  dedup: { recordsConsumed: number; writesPublished: number; writesPerRecord: number };
  latencyMs: ClientReport["latencyMs"];
  kafkaHopOverFloor?: { floorRatePerSecond: number; p50: number; p99: number };
  lag: { start: number; end: number };
  processes: Record<string, GroupUsage>;
  machineBusyPercent: number;
  client: Omit<ClientReport, "kind" | "latencyMs">;
  saturated: boolean;
  saturationReasons: string[];
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
  const startedAtMs = performance.now();
  try {
    // The two recorded symbols (when replayed) bring their own rate; the rest share the offered load.
    const perSymbolPerSecond = offeredPerSecond / TOP30_USDT.length;
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
      { ...common, KAFKA_GROUP_ID: group, GATEWAY_GRPC_PORT: String(grpcPort), GATEWAY_HTTP_PORT: String(httpPort) },
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
      { GATEWAY_URL: `http://127.0.0.1:${grpcPort}`, SYMBOLS: TOP30_USDT.join(",") },
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
    const counts = async () => {
      const [offsets, published, emitted] = await Promise.all([
        counters.offsets(topic, group),
        publishCount(redis),
        simEvents(),
      ]);
      return { offsets, published, emitted };
    };
    const before = await counts();
    sampler.start();
    client.proc.send({ kind: "measure" });
    for (let t = 0; t < s.secondsPerPoint; t++) {
      await sleep(1000);
      sampler.tick();
      assertAlive();
    }
    client.proc.send({ kind: "report" });
    const [report, after] = await Promise.all([
      nextMessage(client, is("report")<ClientReport>, "client report", 60_000),
      counts(),
    ]);
    const emitted = after.emitted - before.emitted;
    const usage = sampler.finish(emitted);
    return summarizePoint(s, {
      offeredPerSecond,
      perSymbolPerSecond,
      startupSeconds,
      seconds: usage.seconds,
      emitted,
      before: before.offsets,
      after: after.offsets,
      published: after.published - before.published,
      report,
      usage,
      floor: nearestFloor(floors, offeredPerSecond),
    });
  } finally {
    redis.disconnect();
    await stopAll();
  }
}

function summarizePoint(
  s: PointSettings,
  p: {
    offeredPerSecond: number;
    perSymbolPerSecond: number;
    startupSeconds: number;
    seconds: number;
    emitted: number;
    before: Offsets;
    after: Offsets;
    published: number;
    report: ClientReport;
    usage: ReturnType<ProcSampler["finish"]>;
    floor?: FloorResult;
  },
): PointResult {
  const { kind: _kind, latencyMs, ...client } = p.report;
  const produced = p.after.produced - p.before.produced;
  const consumed = p.after.consumed - p.before.consumed;
  const perSecond = {
    simEmitted: round(p.emitted / p.seconds, 1),
    ingestProduced: round(produced / p.seconds, 1),
    computeConsumed: round(consumed / p.seconds, 1),
    redisPublished: round(p.published / p.seconds, 1),
    clientReceived: round(p.report.updates / p.seconds, 1),
  };
  const reasons: string[] = [];
  const floorOf = (v: number) => v < s.deliveredShare * p.offeredPerSecond;
  const pct = (v: number) => `${Math.round((v / p.offeredPerSecond) * 100)}%`;
  if (floorOf(perSecond.simEmitted)) reasons.push(`load generator emitted ${pct(perSecond.simEmitted)} of offered`);
  if (floorOf(perSecond.ingestProduced)) reasons.push(`ingest produced ${pct(perSecond.ingestProduced)} of offered`);
  if (floorOf(perSecond.computeConsumed)) reasons.push(`compute consumed ${pct(perSecond.computeConsumed)} of offered`);
  // Lag growing: more than a second of offered traffic piled up during the point.
  const lagGrowth = p.after.lag - p.before.lag;
  if (lagGrowth > Math.max(1000, p.offeredPerSecond)) reasons.push(`consumer lag grew by ${lagGrowth} records`);
  const hop = latencyMs["kafka produce -> compute receive"];
  const floor = p.floor;
  return {
    offeredPerSecond: p.offeredPerSecond,
    perSymbolPerSecond: round(p.perSymbolPerSecond, 2),
    measuredSeconds: p.seconds,
    startupSeconds: p.startupSeconds,
    perSecond,
    dedup: {
      recordsConsumed: consumed,
      writesPublished: p.published,
      writesPerRecord: round(p.published / consumed, 3),
    },
    latencyMs,
    kafkaHopOverFloor:
      floor && hop
        ? {
            floorRatePerSecond: floor.ratePerSecond,
            p50: round(hop.p50 / floor.latencyMs.p50, 2),
            p99: round(hop.p99 / floor.latencyMs.p99, 2),
          }
        : undefined,
    lag: { start: p.before.lag, end: p.after.lag },
    processes: p.usage.groups,
    machineBusyPercent: p.usage.machineBusyPercent,
    client,
    saturated: reasons.length > 0,
    saturationReasons: reasons,
  };
}
