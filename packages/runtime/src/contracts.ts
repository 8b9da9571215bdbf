// Names and shapes several services share through Redis (docs/contracts.md), defined once.

export function redisKeys(namespace: string) {
  return {
    /** hash: symbol -> MarketUpdate bytes (latest) */
    state: `${namespace}:state`,
    /** hash: symbol -> decimal update id of the stored state */
    ids: `${namespace}:ids`,
    /** hash: symbol -> decimal book epoch of the stored state (absent = 0) */
    epochs: `${namespace}:epochs`,
    /** hash: symbol -> StoredOfi JSON: a symbol's OFI tracker and the update it counts through */
    ofi: `${namespace}:ofi`,
    /** pub/sub: MarketUpdate bytes of every state change */
    updates: `${namespace}:updates`,
    /** hash: ingest shard id -> ShardHeartbeat JSON */
    shards: `${namespace}:shards`,
    /** hash: compute instance id -> ComputeHeartbeat JSON */
    compute: `${namespace}:compute`,
    /** pub/sub: ControlCommand JSON for ingest */
    control: `${namespace}:control`,
  } as const;
}

/** What each ingest shard reports every second. */
export interface ShardHeartbeat {
  shardId: number;
  symbols: string[];
  connected: boolean;
  framesPerSecond: number;
  lastFrameAgeMs: number;
  reconnects: number;
  resyncs: number;
  gaps: number;
  rejectedFrames: number;
  producerBacklog: number;
  updatedAtMs: number;
}

/** What each compute instance reports every second (`<ns>:compute`, field = instance id). */
export interface ComputeHeartbeat {
  instanceId: string;
  /** Partitions of the topic assigned to this instance. */
  partitions: number[];
  updatedAtMs: number;
  /** Records consumed per second since the previous heartbeat. */
  recordsPerSecond: number;
  /** Records in its partitions not yet written to Redis (high watermark - written offset). */
  lagRecords: number;
}

/** An operator command for ingest: rebuild one symbol's book, or every book of one shard. */
export interface ControlCommand {
  type: "resync";
  symbol?: string;
  shardId?: number;
}
