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
  SYMBOL_PATTERN,
  computeHeartbeatSchema,
  controlCommandSchema,
  redisKeys,
  shardHeartbeatSchema,
  type ComputeHeartbeat,
  type ControlCommand,
  type ShardHeartbeat,
} from "./contracts.js";
export { SchemaError, checkValue, parseJson, s, type Infer, type Schema } from "./schema.js";
export { stopOnSignals } from "./lifecycle.js";
export { noDelaySocketFactory } from "./sockets.js";
