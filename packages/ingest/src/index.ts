export {
  createIngestService,
  combinedStreamUrl,
  deadLetterTopicOf,
  type IngestService,
  type IngestStats,
} from "./service.js";
export {
  DEFAULT_INGEST_OPTIONS,
  KAFKA_CLIENT_LIBRARIES,
  MARKET_ENDPOINTS,
  depthRequestWeight,
  type IngestOptions,
  type KafkaClientLibrary,
  type Market,
  type StreamMode,
} from "./options.js";
export { TOP30_USDT, parseUniverse, partitionFor, shardSymbols } from "./universe.js";
export {
  DEFAULT_SUPERVISOR_OPTIONS,
  superviseShards,
  type ShardStatus,
  type Supervisor,
  type SupervisorOptions,
} from "./supervisor.js";
