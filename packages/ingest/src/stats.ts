import type { RejectReason } from "@quantcore/core";

/** What one shard counts (read by its heartbeat, its metrics and its log). */
export interface IngestStats {
  shardId: number;
  connected: boolean;
  frames: number;
  published: number;
  resets: number;
  gaps: number;
  stale: number;
  reconnects: number;
  /** Planned overlapping connection replacements (24 h limit, serverShutdown). */
  rotations: number;
  /** Symbols moved at the overlap deadline rather than on proven continuity. */
  forcedHandovers: number;
  snapshotRequests: number;
  /** Raw frames written to the dead-letter topic, and those dropped because its queue was full. */
  deadLettered: number;
  deadLetterDropped: number;
  /** Dead letters cut to fit Kafka's record limit (marked `qc-truncated`). */
  deadLetterTruncated: number;
  deadLetterBacklog: number;
  /**
   * Records Kafka refused for good (never retried), by kafkajs error type: `orderBook` ones
   * cost their book a rebuild (RESET), `deadLetter` ones are lost.
   */
  produceDropped: { orderBook: Partial<Record<string, number>>; deadLetter: Partial<Record<string, number>> };
  /** Diffs dropped while Kafka was backed up; their books are rebuilt once it drains. */
  droppedWhileBackedUp: number;
  rejected: Partial<Record<RejectReason | "unknown_symbol" | "binary", number>>;
  producerBacklog: number;
  lastFrameAtMs: number;
  syncedSymbols: number;
}
