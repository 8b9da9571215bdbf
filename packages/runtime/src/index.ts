export { QuantCoreError, isRetriable, type ErrorKind } from "./errors.js";
export {
  DEFAULT_BACKOFF,
  DEFAULT_WAIT_FOR,
  backoffDelayMs,
  retry,
  settlesWithin,
  sleep,
  waitFor,
  type BackoffOptions,
  type WaitForOptions,
} from "./backoff.js";
export { nowUs } from "./clock.js";
export { EnvReader } from "./env.js";
export { createLogger, type LogLevel, type Logger } from "./log.js";
export {
  REPLAY_ID_PATTERN,
  REPLAY_STATES,
  SYMBOL_PATTERN,
  computeHeartbeatSchema,
  controlCommandSchema,
  redisKeys,
  replayCommandSchema,
  replayJobSchema,
  replayNamespace,
  shardHeartbeatSchema,
  type ComputeHeartbeat,
  type ControlCommand,
  type ReplayCommand,
  type ReplayJobRecord,
  type ShardHeartbeat,
} from "./contracts.js";
export {
  TIME_TRAVEL_ENTRY_TYPES,
  TIME_TRAVEL_SESSION_PATTERN,
  TIME_TRAVEL_UPDATES_PER_ENTRY,
  timeTravelAcceptedSchema,
  timeTravelEndSchema,
  timeTravelKeys,
  timeTravelRejectedSchema,
  timeTravelRequestSchema,
  type TimeTravelEnd,
  type TimeTravelEntryType,
  type TimeTravelRejected,
  type TimeTravelRequest,
} from "./time-travel.js";
export { SchemaError, checkValue, parseJson, s, type Infer, type Schema } from "./schema.js";
export { stopOnSignals } from "./lifecycle.js";
export { noDelaySocketFactory } from "./sockets.js";
export { createKafka, fixKafkajsIdleTimer } from "./kafka-client.js";
export { serveOps, type OpsServer, type OpsServerOptions } from "./ops.js";
export { TOP30_USDT } from "./universe.js";
