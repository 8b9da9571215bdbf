import { DEFAULT_GATEWAY_OPTIONS, createGateway, loadTokens } from "@quantcore/gateway";
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
};
const tokens = loadTokens({
  operatorTokens: env.list("GATEWAY_OPERATOR_TOKENS", []),
  botTokens: env.list("GATEWAY_BOT_TOKENS", []),
  tokensFile: env.string("GATEWAY_TOKENS_FILE", "") || undefined,
});
env.done();

const gateway = await createGateway({ ...options, operatorTokens: tokens.operators, botTokens: tokens.bots });
log.info("gateway listening", { grpc: gateway.grpcUrl, http: gateway.httpUrl });
stopOnSignals(() => gateway.close(), log);
