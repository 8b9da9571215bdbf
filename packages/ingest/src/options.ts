import { QuantCoreError } from "@quantcore/runtime";
import { DEFAULT_PRODUCER_OPTIONS } from "./producer-options.js";
import { TOP30_USDT } from "./universe.js";

/** Client libraries the order-book producer can use (produce-client.ts). */
export const KAFKA_CLIENT_LIBRARIES = ["kafkajs", "platformatic"] as const;
export type KafkaClientLibrary = (typeof KAFKA_CLIENT_LIBRARIES)[number];

export type StreamMode = "diff" | "partial";
/** Binance spot (U/u continuity) or USD-M futures (`pu` chaining, /fapi/v1/depth). */
export type Market = "spot" | "usdm";

export interface IngestOptions {
  /** Binance WebSocket base, e.g. wss://stream.binance.com:9443 (or the local simulator). */
  wsBaseUrl: string;
  /** Binance REST base for depth snapshots, e.g. https://api.binance.com. */
  restBaseUrl: string;
  /** Uppercase symbols this shard owns. */
  symbols: string[];
  /** Whole universe: fixes the symbol -> partition map, identical in every shard. */
  universe: readonly string[];
  shardId: number;
  market: Market;
  /** diff = `<s>@depth@100ms` + REST snapshot (default); partial = `<s>@depth20@100ms`. */
  streamMode: StreamMode;
  /** REST snapshot `limit`: 1000 costs weight 50 (5000 costs 250). */
  snapshotLimit: number;
  /** Share of Binance's 6000/min REST weight this shard may use. */
  restWeightPerMinute: number;
  snapshotTimeoutMs: number;
  /** Levels per side written into each Kafka record. */
  publishDepth: number;
  kafkaBrokers: string[];
  kafkaTopic: string;
  kafkaClientId: string;
  /** The order-book producer's client library (produce-client.ts); dead letters always go through kafkajs. */
  kafkaClient: KafkaClientLibrary;
  kafkaPartitions: number;
  /**
   * Request timeout of either client library. A broker that stops answering without closing its
   * connections (frozen, or cut off behind a live TCP peer) holds every produce request this long
   * before the client retries.
   */
  kafkaRequestTimeoutMs: number;
  /**
   * Longest age of the producer's cluster metadata. kafkajs refreshes it after a closed connection
   * or a NOT_LEADER answer but not after a timeout: without a bound, a retry after a frozen leader
   * keeps going to it (the fault suite's SIGSTOP of a broker stopped every acknowledgement).
   * @platformatic/kafka's producer also drops it after any failed request (platformatic-producer.ts).
   */
  kafkaMetadataMaxAgeMs: number;
  /**
   * Records held while Kafka is slow or down (about 1 KB each at 20 levels, so the default bounds
   * the backlog near 100 MB); beyond it the affected books wait and are rebuilt once Kafka drains.
   */
  maxQueuedRecords: number;
  /** On stop, how long to wait for Kafka to take what is queued. */
  flushTimeoutMs: number;
  maxRecordsPerBatch: number;
  /** Least time between two produce requests below `loadedAboveRecordsPerSecond` (send-pacing.ts). */
  minSendIntervalMs: number;
  /** Least time between two produce requests at or above it: fewer, larger requests (adds at most this much latency). */
  loadedSendIntervalMs: number;
  /** Records per second into one shard's producer (over the last full second) from which it counts as loaded. */
  loadedAboveRecordsPerSecond: number;
  /**
   * Most bytes of one partition's records per produce request, and the most one dead letter may
   * take: keep it below the broker's `message.max.bytes` (1 MiB + 12 by default), which Kafka
   * applies to each partition's record batch.
   */
  maxPartitionBatchBytes: number;
  /** Most bytes of records per produce request, all partitions together. */
  maxRequestBytes: number;
  maxFrameBytes: number;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  /**
   * Open an overlapping replacement connection this long after connecting; Binance closes a
   * connection at 24 h, so the default leaves an hour of margin.
   */
  rotateAfterMs: number;
  /** Longest overlap of old and new connection before the old one is closed regardless. */
  rotationOverlapMaxMs: number;
  /** Connection attempts this shard may make per 5 minutes (Binance: 300 per IP, shared by shards). */
  maxConnectionAttemptsPer5Min: number;
  /** Raw frames that failed validation go here; `{topic}` stands for kafkaTopic ("" = none). */
  deadLetterTopic: string;
  /** Dead letters wait in a queue of their own, bounded in count and bytes; beyond it they are dropped (counted). */
  maxQueuedDeadLetters: number;
  maxQueuedDeadLetterBytes: number;
  /** Redis for heartbeats and operator commands (control plane); "" = none. */
  redisUrl: string;
  redisNamespace: string;
  heartbeatIntervalMs: number;
  /** Test-only: append one line per record Kafka acknowledged to this file (see ack-log.ts); "" = off. */
  ackLogFile: string;
}

export const DEFAULT_INGEST_OPTIONS: Readonly<IngestOptions> = Object.freeze({
  wsBaseUrl: "wss://stream.binance.com:9443",
  restBaseUrl: "https://api.binance.com",
  symbols: [...TOP30_USDT],
  universe: TOP30_USDT,
  shardId: 0,
  market: "spot",
  streamMode: "diff",
  snapshotLimit: 1000,
  restWeightPerMinute: 3000,
  snapshotTimeoutMs: 10_000,
  publishDepth: 20,
  kafkaBrokers: ["localhost:9092"],
  kafkaTopic: "order_book",
  kafkaClientId: "quantcore-ingest",
  kafkaClient: "platformatic",
  kafkaPartitions: 30,
  kafkaRequestTimeoutMs: 10_000,
  kafkaMetadataMaxAgeMs: 5_000,
  maxQueuedRecords: DEFAULT_PRODUCER_OPTIONS.maxQueuedRecords,
  flushTimeoutMs: 5_000,
  maxRecordsPerBatch: DEFAULT_PRODUCER_OPTIONS.maxRecordsPerBatch,
  minSendIntervalMs: DEFAULT_PRODUCER_OPTIONS.minSendIntervalMs,
  loadedSendIntervalMs: DEFAULT_PRODUCER_OPTIONS.loadedSendIntervalMs,
  loadedAboveRecordsPerSecond: DEFAULT_PRODUCER_OPTIONS.loadedAboveRecordsPerSecond,
  maxPartitionBatchBytes: DEFAULT_PRODUCER_OPTIONS.maxPartitionBatchBytes,
  maxRequestBytes: DEFAULT_PRODUCER_OPTIONS.maxRequestBytes,
  maxFrameBytes: 1 << 20,
  reconnectInitialDelayMs: 250,
  reconnectMaxDelayMs: 30_000,
  rotateAfterMs: 23 * 60 * 60 * 1000,
  rotationOverlapMaxMs: 30_000,
  maxConnectionAttemptsPer5Min: 30,
  deadLetterTopic: "{topic}.dlq",
  maxQueuedDeadLetters: 10_000,
  maxQueuedDeadLetterBytes: 16 << 20,
  redisUrl: "",
  redisNamespace: "qc",
  heartbeatIntervalMs: 1_000,
  ackLogFile: "",
});

/** REST request weight of a depth snapshot by limit: spot since 2023-10-19, USD-M per its docs. */
export function depthRequestWeight(limit: number, market: Market = "spot"): number {
  if (market === "usdm") {
    if (limit <= 50) return 2;
    if (limit <= 100) return 5;
    if (limit <= 500) return 10;
    return 20;
  }
  if (limit <= 100) return 5;
  if (limit <= 500) return 25;
  if (limit <= 1000) return 50;
  return 250;
}

/** USD-M accepts only these snapshot limits. */
export const USDM_DEPTH_LIMITS: readonly number[] = [5, 10, 20, 50, 100, 500, 1000];

/** Where each market serves depth snapshots, its public endpoints, and its REST weight per IP per minute. */
export const MARKET_ENDPOINTS = Object.freeze({
  spot: {
    depthPath: "/api/v3/depth",
    wsBaseUrl: "wss://stream.binance.com:9443",
    restBaseUrl: "https://api.binance.com",
    restWeightPerMinutePerIp: 6000,
  },
  usdm: {
    depthPath: "/fapi/v1/depth",
    wsBaseUrl: "wss://fstream.binance.com",
    restBaseUrl: "https://fapi.binance.com",
    restWeightPerMinutePerIp: 2400,
  },
} as const);

/** Binance closes a connection asking for more streams than this. */
export const MAX_STREAMS_PER_CONNECTION = 1024;

/** Builds the URL of one combined stream carrying every symbol of the shard. */
export function combinedStreamUrl(wsBaseUrl: string, symbols: string[], mode: IngestOptions["streamMode"]): string {
  const suffix = mode === "diff" ? "@depth@100ms" : "@depth20@100ms";
  const streams = symbols.map((s) => s.toLowerCase() + suffix).join("/");
  return `${wsBaseUrl.replace(/\/+$/, "")}/stream?streams=${streams}`;
}

export function deadLetterTopicOf(o: Pick<IngestOptions, "deadLetterTopic" | "kafkaTopic">): string {
  return o.deadLetterTopic.replaceAll("{topic}", o.kafkaTopic);
}

/** Refuses options no shard can run with (a clear error naming the setting). */
export function checkIngestOptions(opts: IngestOptions): void {
  if (opts.symbols.length === 0) throw new QuantCoreError("invalid_argument", "ingest needs at least one symbol");
  if (opts.symbols.length > MAX_STREAMS_PER_CONNECTION) {
    throw new QuantCoreError(
      "invalid_argument",
      `a shard carries at most ${MAX_STREAMS_PER_CONNECTION} streams on its connection, got ${opts.symbols.length}: use more shards`,
    );
  }
  if (opts.market === "usdm" && !USDM_DEPTH_LIMITS.includes(opts.snapshotLimit)) {
    throw new QuantCoreError(
      "invalid_argument",
      `USD-M snapshot limit must be one of ${USDM_DEPTH_LIMITS.join(", ")}, got ${opts.snapshotLimit}`,
    );
  }
}
