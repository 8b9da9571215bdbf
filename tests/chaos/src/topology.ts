// The pipeline as deployed, for the fault suite: a 3-broker Kafka cluster (RF 3, min.insync 2),
// Redis, the exchange simulator, an ingest supervisor with several shards (its Kafka traffic
// through one TCP proxy per broker), two compute instances in one group, two gateways (the first
// reaching Redis through a proxy) and the observer. Every process is separate; each app runs
// its bundle as the images do (the load bench's process helpers).
import { readFileSync } from "node:fs";
import path from "node:path";
import { TOP30_USDT } from "@quantcore/ingest";
import { waitFor } from "@quantcore/runtime";
import {
  freePort,
  isAlive,
  startKafkaCluster,
  startRedis,
  type ClusterHandle,
  type RedisHandle,
} from "@quantcore/stack";
import {
  appCommand,
  buildApps,
  forkTs,
  launch,
  nextMessage,
  stopAll,
  type AppMode,
  type Child,
} from "../../../bench/src/load-procs.js";
import { childrenOf } from "../../../bench/src/proc-stats.js";
import type { FromObserver, ToObserver } from "./observer.js";
import { TcpProxy } from "./proxy.js";
import type { FromSim, ToSim } from "./sim.js";

export interface TopologySettings {
  shards: number;
  computeInstances: number;
  gateways: number;
  updatesPerSecondPerSymbol: number;
  workDir: string;
  readyTimeoutMs: number;
}

export const DEFAULT_TOPOLOGY: Readonly<Omit<TopologySettings, "workDir">> = Object.freeze({
  shards: 3,
  computeInstances: 2,
  gateways: 2,
  updatesPerSecondPerSymbol: 5,
  readyTimeoutMs: 240_000,
});

export interface Gateway {
  name: string;
  child: Child;
  grpcPort: number;
  httpPort: number;
  viaProxy: boolean;
}

export interface Topology {
  settings: TopologySettings;
  cluster: ClusterHandle;
  redis: RedisHandle;
  /** Ingest -> Kafka, one per broker. */
  kafkaProxies: TcpProxy[];
  /** gateway-0 -> Redis. */
  redisProxy: TcpProxy;
  sim: Child;
  ingest: Child;
  computes: Child[];
  gateways: Gateway[];
  observer: Child;
  historyFile: string;
  ackLogFile: string;
  topic: string;
  namespace: string;
  logDir: string;
  symbols: readonly string[];
  /** Starts compute instance k again (after a kill). */
  relaunchCompute(k: number): Child;
  relaunchGateway(k: number): Gateway;
  /** Kills Redis with SIGKILL and starts it on the same port. */
  restartRedis(): Promise<{ pid: number; newPid: number; pidGone: boolean }>;
  shardPids(): number[];
  badFrames(m: Omit<ToSim, "kind">): Promise<Extract<FromSim, { kind: "bad-frames-sent" }>>;
  observerProgress(): Promise<Extract<FromObserver, { kind: "progress" }>>;
  /** Reads Kafka to its end, closes the history. */
  drainObserver(): Promise<void>;
  /** Stops every process (apps first), the proxies, Redis and the cluster. */
  stop(): Promise<void>;
}

const is =
  <K extends string>(kind: K) =>
  <T>(m: unknown): m is T =>
    (m as { kind?: string })?.kind === kind;

interface Started {
  cluster?: ClusterHandle;
  redis?: RedisHandle;
  proxies: TcpProxy[];
}

/** Starts everything; if any step fails, stops what was started before rethrowing. */
export async function startTopology(s: TopologySettings): Promise<Topology> {
  const started: Started = { proxies: [] };
  try {
    return await build(s, started);
  } catch (err) {
    await stopAll(15_000);
    await Promise.all(started.proxies.map((p) => p.close()));
    await Promise.all([started.redis?.stop(), started.cluster?.stop()]);
    throw err;
  }
}

async function build(s: TopologySettings, started: Started): Promise<Topology> {
  const run = Date.now().toString(36);
  const topic = "order_book";
  const namespace = `chaos${run}`;
  const group = `chaos-${run}`;
  const logDir = path.join(s.workDir, "logs");
  const historyFile = path.join(s.workDir, "history.jsonl");
  const ackLogFile = path.join(s.workDir, "acks.jsonl");
  const modes: Record<string, AppMode> = buildApps(["ingest", "compute", "gateway"]);

  const cluster = await startKafkaCluster({ proxiedListener: true });
  started.cluster = cluster;
  await cluster.createTopics([
    { name: topic, partitions: 30 },
    { name: `${topic}.dlq`, partitions: 3 },
  ]);
  const kafkaProxies = cluster.nodes.map(
    (n) => new TcpProxy(n.proxied!.advertisedPort, { host: "127.0.0.1", port: n.proxied!.port }),
  );
  started.proxies.push(...kafkaProxies);
  await Promise.all(kafkaProxies.map((p) => p.start()));
  let redis = await startRedis();
  started.redis = redis;
  const redisProxy = new TcpProxy(await freePort(), { host: "127.0.0.1", port: redis.port });
  started.proxies.push(redisProxy);
  await redisProxy.start();

  const sim = forkTs(
    "sim",
    path.join(import.meta.dirname, "sim.ts"),
    { SIM_UPDATES_PER_SECOND_PER_SYMBOL: String(s.updatesPerSecondPerSymbol) },
    logDir,
  );
  const simReady = await nextMessage(sim, is("ready")<Extract<FromSim, { kind: "ready" }>>, "simulator", 60_000);
  const direct = cluster.brokers.join(",");
  const common = { KAFKA_TOPIC: topic, REDIS_NAMESPACE: namespace, LOG_LEVEL: "warn" };
  const ingest = launch(
    "ingest",
    appCommand("ingest", "supervisor", modes.ingest!),
    {
      ...common,
      KAFKA_BROKERS: kafkaProxies.map((p) => `127.0.0.1:${p.listenPort}`).join(","),
      REDIS_URL: redis.url,
      BINANCE_WS_URL: simReady.wsUrl,
      BINANCE_REST_URL: simReady.restUrl,
      SHARD_COUNT: String(s.shards),
      INGEST_ACK_LOG: ackLogFile,
    },
    logDir,
  );
  let launches = 0;
  const computeEnv = { ...common, KAFKA_BROKERS: direct, REDIS_URL: redis.url, KAFKA_GROUP_ID: group };
  const launchCompute = (k: number) =>
    launch(`compute-${k}-${launches++}`, appCommand("compute", "main", modes.compute!), computeEnv, logDir);
  const computes = Array.from({ length: s.computeInstances }, (_, k) => launchCompute(k));

  const ports = await Promise.all(Array.from({ length: s.gateways }, async () => [await freePort(), await freePort()]));
  const launchGateway = (k: number): Gateway => {
    const [grpcPort, httpPort] = ports[k]!;
    const viaProxy = k === 0;
    const child = launch(
      `gateway-${k}-${launches++}`,
      appCommand("gateway", "main", modes.gateway!),
      {
        ...common,
        KAFKA_BROKERS: direct,
        KAFKA_GROUP_ID: group,
        REDIS_URL: viaProxy ? `redis://127.0.0.1:${redisProxy.listenPort}` : redis.url,
        GATEWAY_GRPC_PORT: String(grpcPort),
        GATEWAY_HTTP_PORT: String(httpPort),
      },
      logDir,
    );
    return { name: `gateway-${k}`, child, grpcPort: grpcPort!, httpPort: httpPort!, viaProxy };
  };
  const gateways = Array.from({ length: s.gateways }, (_, k) => launchGateway(k));
  for (const g of gateways) {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${g.httpPort}/healthz`)).ok, `${g.name} /healthz`, {
      timeoutMs: 120_000,
      intervalMs: 500,
    });
  }
  const observer = forkTs(
    "observer",
    path.join(import.meta.dirname, "observer.ts"),
    {
      OBSERVER_HISTORY: historyFile,
      OBSERVER_GATEWAYS: gateways.map((g) => `${g.name}=http://127.0.0.1:${g.grpcPort}`).join(","),
      KAFKA_BROKERS: direct,
      KAFKA_TOPIC: topic,
      REDIS_URL: redis.url,
      REDIS_NAMESPACE: namespace,
    },
    logDir,
  );
  const observerProgress = async () => {
    observer.proc.send({ kind: "progress" } satisfies ToObserver);
    return nextMessage(
      observer,
      is("progress")<Extract<FromObserver, { kind: "progress" }>>,
      "observer progress",
      30_000,
    );
  };
  const symbols = TOP30_USDT;
  await waitFor(
    async () => {
      const p = await observerProgress();
      return gateways.every((g) => (p.liveSymbols[g.name] ?? 0) >= symbols.length);
    },
    `live updates of all ${symbols.length} symbols on every gateway`,
    { timeoutMs: s.readyTimeoutMs, intervalMs: 1000 },
  );

  const t: Topology = {
    settings: s,
    cluster,
    get redis() {
      return redis;
    },
    kafkaProxies,
    redisProxy,
    sim,
    ingest,
    computes,
    gateways,
    observer,
    historyFile,
    ackLogFile,
    topic,
    namespace,
    logDir,
    symbols,
    relaunchCompute(k) {
      computes[k] = launchCompute(k);
      return computes[k]!;
    },
    relaunchGateway(k) {
      gateways[k] = launchGateway(k);
      return gateways[k]!;
    },
    async restartRedis() {
      const pid = redis.pid;
      process.kill(pid, "SIGKILL");
      let pidGone = false;
      await waitFor(() => (pidGone = !isAlive(pid)), "redis gone", { timeoutMs: 10_000 });
      redis = await startRedis({ port: redis.port });
      return { pid, newPid: redis.pid, pidGone };
    },
    shardPids: () => childrenOf(ingest.pid),
    async badFrames(m) {
      sim.proc.send({ kind: "bad-frames", ...m } satisfies ToSim);
      return nextMessage(
        sim,
        is("bad-frames-sent")<Extract<FromSim, { kind: "bad-frames-sent" }>>,
        "bad frames",
        30_000,
      );
    },
    observerProgress,
    async drainObserver() {
      observer.proc.send({ kind: "drain" } satisfies ToObserver);
      await nextMessage(
        observer,
        is("drained")<Extract<FromObserver, { kind: "drained" }>>,
        "observer drained",
        600_000,
      );
    },
    async stop() {
      await stopAll(15_000);
      await Promise.all([...kafkaProxies, redisProxy].map((p) => p.close()));
      await Promise.all([redis.stop(), cluster.stop()]);
    },
  };
  return t;
}

/** SHARD_ID of a running shard process (from its environment). */
export function shardIdOf(pid: number): number | undefined {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    const v = env.find((e) => e.startsWith("SHARD_ID="));
    return v === undefined ? undefined : Number(v.slice("SHARD_ID=".length));
  } catch {
    return undefined;
  }
}

/** One-letter process state from /proc (R, S, T = stopped, Z, ...). */
export function procState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return "gone";
  }
}

export { TOP30_USDT };
