export { createComputeService, type ComputeService, type ComputeStats } from "./service.js";
export { createComputeMetrics, type ComputeMetrics } from "./metrics.js";
export { DEFAULT_COMPUTE_OPTIONS, redisKeys, type ComputeOptions } from "./options.js";
export { replayAndCompare, type ReplayOptions, type ReplayReport } from "./replay.js";
export {
  DEFAULT_REPLAY_WORKER_OPTIONS,
  createReplayWorker,
  type ReplayWorker,
  type ReplayWorkerOptions,
  type ReplayWorkerStats,
} from "./replay-worker.js";
export { DEFAULT_TIME_TRAVEL_OPTIONS, type TimeTravelOptions } from "./time-travel/options.js";
export { type TimeTravelStats } from "./time-travel/pool.js";
export { setProcessNice } from "./priority.js";
