import { hostname } from "node:os";
import { DEFAULT_OFI_OPTIONS, DEFAULT_SIGNAL_OPTIONS, type SignalOptions } from "@quantcore/core";

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
  /**
   * How long the broker may hold a fetch open when there is nothing to return. A fetch
   * returns as soon as one record arrives (minBytes 1), so this costs no latency; a short
   * wait only makes the consumer poll an idle broker (and burn its CPU) more often.
   */
  maxWaitTimeInMs: number;
  /**
   * Records fetched but not yet acknowledged by Redis, at most. Fetching goes on while a
   * Redis write is in flight (the next write takes everything that arrived meanwhile); past
   * this bound the consumer stops fetching until Redis catches up.
   */
  maxPendingRecords: number;
  sessionTimeoutMs: number;
  /** How often acknowledged progress is committed to Kafka. */
  commitIntervalMs: number;
  heartbeatIntervalMs: number;
  redisUrl: string;
  redisNamespace: string;
  signals: SignalOptions;
  ofiWindowsMs: number[];
  /** Most OFI events kept per symbol, whatever their times. */
  ofiMaxEvents: number;
  /** Names this instance in its heartbeat (`<ns>:compute`); default host:pid. */
  instanceId: string;
  /** How often the instance heartbeat is written. */
  statusIntervalMs: number;
  /** How often the topic's high watermarks and the group's offsets are read for lag (0 = never). */
  lagProbeIntervalMs: number;
}

export const DEFAULT_COMPUTE_OPTIONS: Readonly<ComputeOptions> = Object.freeze({
  kafkaBrokers: ["localhost:9092"],
  kafkaTopic: "order_book",
  kafkaClientId: "quantcore-compute",
  groupId: "quantcore-compute",
  fromBeginning: true,
  maxWaitTimeInMs: 500,
  maxPendingRecords: 20_000,
  sessionTimeoutMs: 10_000,
  commitIntervalMs: 500,
  heartbeatIntervalMs: 1_000,
  redisUrl: "redis://localhost:6379",
  redisNamespace: "qc",
  signals: DEFAULT_SIGNAL_OPTIONS,
  ofiWindowsMs: [...DEFAULT_OFI_OPTIONS.windowsMs],
  ofiMaxEvents: DEFAULT_OFI_OPTIONS.maxEvents,
  instanceId: `${hostname()}:${process.pid}`,
  statusIntervalMs: 1_000,
  lagProbeIntervalMs: 1_000,
});

export { redisKeys } from "@quantcore/runtime";
