import { DEFAULT_SIGNAL_OPTIONS, type SignalOptions } from "@quantcore/core";

export interface ComputeOptions {
  kafkaBrokers: string[];
  kafkaTopic: string;
  kafkaClientId: string;
  /** Consumer group: instances sharing it split the partitions; a new group replays the log. */
  groupId: string;
  /**
   * Where a partition the group never committed starts. True (Kappa: the state is a fold over
   * the log, and writes are id-guarded, so re-reading is harmless): nothing is ever skipped.
   * False starts at the log end: faster first start, but records produced before the first
   * commit of a partition are skipped if its owner dies before committing.
   */
  fromBeginning: boolean;
  /** kafkajs defaults to 5000 ms, which would add seconds of latency on a quiet partition. */
  maxWaitTimeInMs: number;
  /** Partitions processed at once: their Redis round trips overlap instead of queueing. */
  partitionsConsumedConcurrently: number;
  sessionTimeoutMs: number;
  /** How often acknowledged progress is committed to Kafka. */
  commitIntervalMs: number;
  heartbeatIntervalMs: number;
  redisUrl: string;
  redisNamespace: string;
  signals: SignalOptions;
  ofiWindowsMs: number[];
}

export const DEFAULT_COMPUTE_OPTIONS: Readonly<ComputeOptions> = Object.freeze({
  kafkaBrokers: ["localhost:9092"],
  kafkaTopic: "order_book",
  kafkaClientId: "quantcore-compute",
  groupId: "quantcore-compute",
  fromBeginning: true,
  maxWaitTimeInMs: 5,
  partitionsConsumedConcurrently: 8,
  sessionTimeoutMs: 10_000,
  commitIntervalMs: 500,
  heartbeatIntervalMs: 1_000,
  redisUrl: "redis://localhost:6379",
  redisNamespace: "qc",
  signals: DEFAULT_SIGNAL_OPTIONS,
  ofiWindowsMs: [1_000, 10_000],
});

export { redisKeys } from "@quantcore/runtime";
