export { createComputeService, type ComputeService, type ComputeStats } from "./service.js";
export { DEFAULT_COMPUTE_OPTIONS, redisKeys, type ComputeOptions } from "./options.js";
export { replayAndCompare, type ReplayOptions, type ReplayReport } from "./replay.js";
