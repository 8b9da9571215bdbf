import { existsSync } from "node:fs";
import path from "node:path";
import { DEFAULT_GATEWAY_OPTIONS, createGateway, loadTokens, loadUniverse } from "@quantcore/gateway";
import { EnvReader, createLogger, stopOnSignals } from "@quantcore/runtime";

const log = createLogger("app.gateway");
const env = new EnvReader();
const options = {
  redisUrl: env.string("REDIS_URL", DEFAULT_GATEWAY_OPTIONS.redisUrl),
  redisNamespace: env.string("REDIS_NAMESPACE", DEFAULT_GATEWAY_OPTIONS.redisNamespace),
  host: env.string("GATEWAY_HOST", DEFAULT_GATEWAY_OPTIONS.host),
  grpcPort: env.int("GATEWAY_GRPC_PORT", DEFAULT_GATEWAY_OPTIONS.grpcPort, { min: 0, max: 65535 }),
  httpPort: env.int("GATEWAY_HTTP_PORT", DEFAULT_GATEWAY_OPTIONS.httpPort, { min: 0, max: 65535 }),
  corsAllowedOrigins: env.list("GATEWAY_CORS_ORIGINS", DEFAULT_GATEWAY_OPTIONS.corsAllowedOrigins),
  maxClientLagMs: env.int("GATEWAY_MAX_CLIENT_LAG_MS", DEFAULT_GATEWAY_OPTIONS.maxClientLagMs, { min: 10 }),
  maxStreamsPerClient: env.int("GATEWAY_MAX_STREAMS_PER_CLIENT", DEFAULT_GATEWAY_OPTIONS.maxStreamsPerClient, {
    min: 1,
  }),
  compressMinBytes: env.int("GATEWAY_COMPRESS_MIN_BYTES", DEFAULT_GATEWAY_OPTIONS.compressMinBytes, { min: 0 }),
  kafkaBrokers: env.list("KAFKA_BROKERS", []),
  kafkaTopic: env.string("KAFKA_TOPIC", DEFAULT_GATEWAY_OPTIONS.kafkaTopic),
  computeGroupId: env.string("KAFKA_GROUP_ID", DEFAULT_GATEWAY_OPTIONS.computeGroupId),
  lateAfterMs: env.int("GATEWAY_LATE_AFTER_MS", DEFAULT_GATEWAY_OPTIONS.lateAfterMs, { min: 1 }),
  statusIntervalMs: env.int("GATEWAY_STATUS_INTERVAL_MS", DEFAULT_GATEWAY_OPTIONS.statusIntervalMs, { min: 10 }),
  shardHeartbeatTimeoutMs: env.int(
    "GATEWAY_SHARD_HEARTBEAT_TIMEOUT_MS",
    DEFAULT_GATEWAY_OPTIONS.shardHeartbeatTimeoutMs,
    { min: 100 },
  ),
  computeHeartbeatTimeoutMs: env.int(
    "GATEWAY_COMPUTE_HEARTBEAT_TIMEOUT_MS",
    DEFAULT_GATEWAY_OPTIONS.computeHeartbeatTimeoutMs,
    { min: 100 },
  ),
  maxDataAgeMs: env.int("GATEWAY_MAX_DATA_AGE_MS", DEFAULT_GATEWAY_OPTIONS.maxDataAgeMs, { min: 100 }),
};
// The universe ingest shards by, when present (from source: next to the ingest app; images do not
// carry it and learn the symbols from shard heartbeats and the stored state instead).
const defaultUniverseFile = path.join(import.meta.dirname, "../../ingest/universe.json");
const universeFile = env.string("GATEWAY_UNIVERSE_FILE", existsSync(defaultUniverseFile) ? defaultUniverseFile : "-");
const tokens = loadTokens({
  operatorTokens: env.list("GATEWAY_OPERATOR_TOKENS", []),
  botTokens: env.list("GATEWAY_BOT_TOKENS", []),
  tokensFile: env.string("GATEWAY_TOKENS_FILE", "") || undefined,
});
env.done();
const universe = universeFile === "-" ? [] : loadUniverse(universeFile);

const gateway = await createGateway({
  ...options,
  universe,
  operatorTokens: tokens.operators,
  botTokens: tokens.bots,
});
log.info("gateway listening", { grpc: gateway.grpcUrl, http: gateway.httpUrl });
stopOnSignals(() => gateway.close(), log);
