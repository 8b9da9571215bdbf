import {
  DEFAULT_COMPUTE_OPTIONS,
  DEFAULT_REPLAY_WORKER_OPTIONS,
  DEFAULT_TIME_TRAVEL_OPTIONS,
  createComputeService,
  createReplayWorker,
  setProcessNice,
} from "@quantcore/compute";
import { EnvReader, createLogger, serveOps, stopOnSignals } from "@quantcore/runtime";

// COMPUTE_MODE=live (default): the consumer group writing the live state. COMPUTE_MODE=replay: the
// replay worker, which runs the operator's replays (StartReplay) and removes them after the retention.
const log = createLogger("app.compute");
const env = new EnvReader();
const mode = env.oneOf("COMPUTE_MODE", ["live", "replay"] as const, "live");
const kafkaBrokers = env.list("KAFKA_BROKERS", DEFAULT_COMPUTE_OPTIONS.kafkaBrokers);
const kafkaTopic = env.string("KAFKA_TOPIC", DEFAULT_COMPUTE_OPTIONS.kafkaTopic);
const redisUrl = env.string("REDIS_URL", DEFAULT_COMPUTE_OPTIONS.redisUrl);
const redisNamespace = env.string("REDIS_NAMESPACE", DEFAULT_COMPUTE_OPTIONS.redisNamespace);
// /metrics, /healthz, /readyz (0 = a free port).
const metricsHost = env.string("METRICS_HOST", "127.0.0.1");
const metricsPort = env.int("COMPUTE_METRICS_PORT", 9300, { min: 0, max: 65535 });
// A taken port costs the metrics (logged loudly, Prometheus shows the target down), not the pipeline.
const serve = (s: { metrics: { contentType: string; metrics(): Promise<string> }; ready: () => boolean }) =>
  serveOps({
    host: metricsHost,
    port: metricsPort,
    metrics: async () => ({ contentType: s.metrics.contentType, body: await s.metrics.metrics() }),
    ready: s.ready,
  }).catch((err: unknown) => {
    log.error("metrics listener failed; running without /metrics", { port: metricsPort, err: String(err) });
    return { url: "none", close: async () => {} };
  });

if (mode === "replay") {
  const options = {
    kafkaBrokers,
    kafkaTopic,
    redisUrl,
    redisNamespace,
    retentionMs: env.int("REPLAY_RETENTION_MS", DEFAULT_REPLAY_WORKER_OPTIONS.retentionMs, { min: 0 }),
    cleanupIntervalMs: env.int("REPLAY_CLEANUP_INTERVAL_MS", DEFAULT_REPLAY_WORKER_OPTIONS.cleanupIntervalMs, {
      min: 100,
    }),
    replayTimeoutMs: env.int("REPLAY_TIMEOUT_MS", DEFAULT_REPLAY_WORKER_OPTIONS.replayTimeoutMs, { min: 1000 }),
    // Time travel (StreamMarketUpdates with a start time), docs/contracts.md.
    timeTravel: {
      ...DEFAULT_TIME_TRAVEL_OPTIONS,
      maxSessions: env.int("TIME_TRAVEL_MAX_SESSIONS", DEFAULT_TIME_TRAVEL_OPTIONS.maxSessions, { min: 1 }),
      maxAheadEntries: env.int("TIME_TRAVEL_MAX_AHEAD_ENTRIES", DEFAULT_TIME_TRAVEL_OPTIONS.maxAheadEntries, {
        min: 10,
      }),
      maxRecordsPerSecond: env.int(
        "TIME_TRAVEL_MAX_RECORDS_PER_SECOND",
        DEFAULT_TIME_TRAVEL_OPTIONS.maxRecordsPerSecond,
        { min: 1 },
      ),
      maxTotalRecordsPerSecond: env.int(
        "TIME_TRAVEL_MAX_TOTAL_RECORDS_PER_SECOND",
        DEFAULT_TIME_TRAVEL_OPTIONS.maxTotalRecordsPerSecond,
        { min: 1 },
      ),
      warmupMs: env.int("TIME_TRAVEL_WARMUP_MS", DEFAULT_TIME_TRAVEL_OPTIONS.warmupMs, { min: 0 }),
      sessionTimeoutMs: env.int("TIME_TRAVEL_SESSION_TIMEOUT_MS", DEFAULT_TIME_TRAVEL_OPTIONS.sessionTimeoutMs, {
        min: 1000,
      }),
    },
  };
  // Replays are background work: the live path (ingest, compute, gateway on the same host) wins the CPU.
  const nice = env.int("REPLAY_WORKER_NICE", 10, { min: 0, max: 19 });
  env.done();
  try {
    // Every thread: V8's GC threads and libuv's pool too (os.setPriority alone reaches the main thread only).
    setProcessNice(nice);
  } catch (err) {
    log.warn("could not lower the replay worker's CPU priority", { nice, err: String(err) });
  }
  const worker = createReplayWorker(options);
  const ops = await serve(worker);
  await worker.start();
  log.info("replay worker started", {
    namespace: redisNamespace,
    retentionMs: options.retentionMs,
    metrics: `${ops.url}/metrics`,
  });
  stopOnSignals(async () => {
    await worker.stop();
    await ops.close();
  }, log);
} else {
  const options = {
    kafkaBrokers,
    kafkaTopic,
    groupId: env.string("KAFKA_GROUP_ID", DEFAULT_COMPUTE_OPTIONS.groupId),
    fromBeginning:
      env.oneOf(
        "FROM_BEGINNING",
        ["true", "false"] as const,
        String(DEFAULT_COMPUTE_OPTIONS.fromBeginning) as "true" | "false",
      ) === "true",
    redisUrl,
    redisNamespace,
  };
  env.done();

  const service = createComputeService(options);
  const ops = await serve(service);
  await service.start();
  log.info("compute started", { groupId: options.groupId, topic: options.kafkaTopic, metrics: `${ops.url}/metrics` });

  const statsTimer = setInterval(() => log.info("stats", { ...service.stats() }), 10_000);
  statsTimer.unref();
  stopOnSignals(async () => {
    await service.stop();
    await ops.close();
  }, log);
}
