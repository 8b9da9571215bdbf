export {
  createIngestService,
  combinedStreamUrl,
  deadLetterTopicOf,
  type IngestService,
  type IngestStats,
} from "./service.js";
export { DEFAULT_INGEST_OPTIONS, depthRequestWeight, type IngestOptions, type StreamMode } from "./options.js";
export { TOP30_USDT, parseUniverse, partitionFor, shardSymbols } from "./universe.js";
export {
  DEFAULT_SUPERVISOR_OPTIONS,
  superviseShards,
  type ShardStatus,
  type Supervisor,
  type SupervisorOptions,
} from "./supervisor.js";
