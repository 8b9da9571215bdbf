export { createIngestService, combinedStreamUrl, type IngestService, type IngestStats } from "./service.js";
export { DEFAULT_INGEST_OPTIONS, depthRequestWeight, type IngestOptions, type StreamMode } from "./options.js";
export { TOP30_USDT, partitionFor, shardSymbols } from "./universe.js";
