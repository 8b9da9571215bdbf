// Names and shapes several services share through Redis (docs/contracts.md), defined once.

export function redisKeys(namespace: string) {
  return {
    /** hash: symbol -> MarketUpdate bytes (latest) */
    state: `${namespace}:state`,
    /** hash: symbol -> decimal update id of the stored state */
    ids: `${namespace}:ids`,
    /** hash: symbol -> OFI tracker JSON after the stored update */
    ofi: `${namespace}:ofi`,
    /** pub/sub: MarketUpdate bytes of every state change */
    updates: `${namespace}:updates`,
    /** hash: ingest shard id -> ShardHeartbeat JSON */
    shards: `${namespace}:shards`,
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

/** An operator command for ingest: rebuild one symbol's book, or every book of one shard. */
export interface ControlCommand {
  type: "resync";
  symbol?: string;
  shardId?: number;
}
