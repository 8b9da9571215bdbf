import { DEFAULT_GATEWAY_OPTIONS, createGateway, loadTokens, loadUniverse } from "@quantcore/gateway";
import { EnvReader, TOP30_USDT, createLogger, stopOnSignals } from "@quantcore/runtime";

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
  // Time travel (docs/contracts.md): streams replaying at once, and how long a replay worker may take to accept.
  timeTravel: {
    ...DEFAULT_GATEWAY_OPTIONS.timeTravel,
    maxSessions: env.int("GATEWAY_TIME_TRAVEL_MAX_SESSIONS", DEFAULT_GATEWAY_OPTIONS.timeTravel.maxSessions, {
      min: 0,
    }),
    acceptTimeoutMs: env.int(
      "GATEWAY_TIME_TRAVEL_ACCEPT_TIMEOUT_MS",
      DEFAULT_GATEWAY_OPTIONS.timeTravel.acceptTimeoutMs,
      { min: 100 },
    ),
  },
};
// The universe ingest shards by: the built-in top 30 (TOP30_USDT) unless a file is named ("-" = none:
// the symbols are then learnt from shard heartbeats and the stored state alone).
const universeFile = env.string("GATEWAY_UNIVERSE_FILE", "");
const tokens = loadTokens({
  operatorTokens: env.list("GATEWAY_OPERATOR_TOKENS", []),
  botTokens: env.list("GATEWAY_BOT_TOKENS", []),
  tokensFile: env.string("GATEWAY_TOKENS_FILE", "") || undefined,
});
env.done();
const universe = universeFile === "-" ? [] : universeFile ? loadUniverse(universeFile) : [...TOP30_USDT];

const gateway = await createGateway({
  ...options,
  universe,
  operatorTokens: tokens.operators,
  botTokens: tokens.bots,
});
log.info("gateway listening", { grpc: gateway.grpcUrl, http: gateway.httpUrl });
stopOnSignals(() => gateway.close(), log);
