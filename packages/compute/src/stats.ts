/** What one compute instance counts (read by its metrics, its log and the benches). */
export interface ComputeStats {
  records: number;
  badRecords: number;
  /** Fetched batches written to Redis. */
  batches: number;
  writesAttempted: number;
  writesApplied: number;
  /** Updates not written because a newer one of the same symbol was in the same write. */
  writesSavedByDedup: number;
  redisRetries: number;
  /** Symbols rewritten after Redis came back without them. */
  rewrites: number;
  /** Records fetched and not yet acknowledged by Redis. */
  pendingRecords: number;
  lagRecords: number;
}
