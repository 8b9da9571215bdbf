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
export { redisKeys, type ComputeHeartbeat, type ControlCommand, type ShardHeartbeat } from "./contracts.js";
export { stopOnSignals } from "./lifecycle.js";
export { noDelaySocketFactory } from "./sockets.js";
