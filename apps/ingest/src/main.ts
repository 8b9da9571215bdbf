import { readFileSync } from "node:fs";
import {
  DEFAULT_INGEST_OPTIONS,
  KAFKA_CLIENT_LIBRARIES,
  MARKET_ENDPOINTS,
  TOP30_USDT,
  createIngestService,
  parseUniverse,
  shardSymbols,
} from "@quantcore/ingest";
import { EnvReader, createLogger, serveOps, stopOnSignals } from "@quantcore/runtime";

const log = createLogger("app.ingest");
const env = new EnvReader();
// The built-in top 30 (TOP30_USDT), unless a deployment names its own file.
const universeFile = env.string("UNIVERSE_FILE", "");
const universe = universeFile ? parseUniverse(readFileSync(universeFile, "utf8"), universeFile) : [...TOP30_USDT];
const shardId = env.int("SHARD_ID", 0, { min: 0 });
const shardCount = env.int("SHARD_COUNT", 1, { min: 1, max: 300 });
const explicit = env.list("SYMBOLS", []).map((s) => s.toUpperCase());
const market = env.oneOf("BINANCE_MARKET", ["spot", "usdm"] as const, DEFAULT_INGEST_OPTIONS.market);
const options = {
  market,
  wsBaseUrl: env.string("BINANCE_WS_URL", MARKET_ENDPOINTS[market].wsBaseUrl),
  restBaseUrl: env.string("BINANCE_REST_URL", MARKET_ENDPOINTS[market].restBaseUrl),
  streamMode: env.oneOf("STREAM_MODE", ["diff", "partial"] as const, DEFAULT_INGEST_OPTIONS.streamMode),
  publishDepth: env.int("PUBLISH_DEPTH", DEFAULT_INGEST_OPTIONS.publishDepth, { min: 1, max: 1000 }),
  snapshotLimit: env.int("SNAPSHOT_LIMIT", DEFAULT_INGEST_OPTIONS.snapshotLimit, { min: 1, max: 5000 }),
  // The REST budget is per IP: by default shards split half of it, leaving room for other clients.
  restWeightPerMinute: Math.floor(
    env.int("REST_WEIGHT_PER_MINUTE", MARKET_ENDPOINTS[market].restWeightPerMinutePerIp / 2, { min: 50 }) / shardCount,
  ),
  // So are connection attempts (Binance: 300 per 5 minutes per IP).
  maxConnectionAttemptsPer5Min: Math.max(
    1,
    Math.floor(env.int("CONNECTION_ATTEMPTS_PER_5MIN", 300, { min: 1 }) / shardCount),
  ),
  rotateAfterMs: env.int("ROTATE_AFTER_MS", DEFAULT_INGEST_OPTIONS.rotateAfterMs, { min: 1_000 }),
  deadLetterTopic: env.string("DEAD_LETTER_TOPIC", DEFAULT_INGEST_OPTIONS.deadLetterTopic),
  maxQueuedRecords: env.int("MAX_QUEUED_RECORDS", DEFAULT_INGEST_OPTIONS.maxQueuedRecords, { min: 100 }),
  maxQueuedDeadLetters: env.int("MAX_QUEUED_DEAD_LETTERS", DEFAULT_INGEST_OPTIONS.maxQueuedDeadLetters, { min: 1 }),
  maxQueuedDeadLetterBytes: env.int("MAX_QUEUED_DEAD_LETTER_BYTES", DEFAULT_INGEST_OPTIONS.maxQueuedDeadLetterBytes, {
    min: 1 << 20,
  }),
  // Kafka's message.max.bytes applies per partition's record batch: stay below the broker's setting.
  maxPartitionBatchBytes: env.int("MAX_PARTITION_BATCH_BYTES", DEFAULT_INGEST_OPTIONS.maxPartitionBatchBytes, {
    min: 4096,
  }),
  maxRequestBytes: env.int("MAX_REQUEST_BYTES", DEFAULT_INGEST_OPTIONS.maxRequestBytes, { min: 4096 }),
  kafkaBrokers: env.list("KAFKA_BROKERS", DEFAULT_INGEST_OPTIONS.kafkaBrokers),
  kafkaTopic: env.string("KAFKA_TOPIC", DEFAULT_INGEST_OPTIONS.kafkaTopic),
  // The order-book producer's library: kafkajs or platformatic (@platformatic/kafka).
  kafkaClient: env.oneOf("INGEST_KAFKA_CLIENT", KAFKA_CLIENT_LIBRARIES, DEFAULT_INGEST_OPTIONS.kafkaClient),
  kafkaPartitions: env.int("KAFKA_PARTITIONS", DEFAULT_INGEST_OPTIONS.kafkaPartitions, { min: 1 }),
  kafkaRequestTimeoutMs: env.int("KAFKA_REQUEST_TIMEOUT_MS", DEFAULT_INGEST_OPTIONS.kafkaRequestTimeoutMs, {
    min: 1_000,
  }),
  kafkaMetadataMaxAgeMs: env.int("KAFKA_METADATA_MAX_AGE_MS", DEFAULT_INGEST_OPTIONS.kafkaMetadataMaxAgeMs, {
    min: 1_000,
  }),
  // Optional: heartbeats and operator commands for the control plane.
  redisUrl: env.string("REDIS_URL", ""),
  redisNamespace: env.string("REDIS_NAMESPACE", DEFAULT_INGEST_OPTIONS.redisNamespace),
  // Test-only (the fault suite): a file that gets one line per record Kafka acknowledged.
  ackLogFile: env.string("INGEST_ACK_LOG", DEFAULT_INGEST_OPTIONS.ackLogFile),
};
// /metrics, /healthz, /readyz: shard N listens on INGEST_METRICS_PORT + N (0 = a free port).
const metricsHost = env.string("METRICS_HOST", "127.0.0.1");
const metricsPort = env.int("INGEST_METRICS_PORT", 9400, { min: 0, max: 65535 });
env.done();
if (shardId >= shardCount) {
  log.error("SHARD_ID must be < SHARD_COUNT", { shardId, shardCount });
  process.exit(2);
}

const service = createIngestService({
  ...options,
  shardId,
  universe,
  symbols: explicit.length > 0 ? explicit : shardSymbols(universe, shardId, shardCount),
});
const ops = await serveOps({
  host: metricsHost,
  port: metricsPort === 0 ? 0 : metricsPort + shardId,
  metrics: async () => ({ contentType: service.metrics.contentType, body: await service.metrics.metrics() }),
  ready: () => service.stats().connected,
}).catch((err: unknown) => {
  // A taken port costs the metrics (logged loudly, Prometheus shows the target down), not the shard.
  log.error("metrics listener failed; running without /metrics", { port: metricsPort, err: String(err) });
  return { url: "none", close: async () => {} };
});
await service.start();
log.info("ingest started", {
  shardId,
  symbols: service.options.symbols.length,
  ws: options.wsBaseUrl,
  metrics: `${ops.url}/metrics`,
});

const statsTimer = setInterval(() => log.info("stats", { ...service.stats() }), 10_000);
statsTimer.unref();
stopOnSignals(async () => {
  await service.stop();
  await ops.close();
}, log);
