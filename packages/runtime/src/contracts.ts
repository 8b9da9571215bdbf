// Names and shapes several services share through Redis (docs/contracts.md), defined once, with
// the schema each JSON value is parsed with (a reader never trusts a cast).
import { s, type Infer } from "./schema.js";

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

/** Uppercase Binance symbol, e.g. BTCUSDT. */
export const SYMBOL_PATTERN = /^[A-Z0-9]{2,20}$/;

const count = () => s.number({ int: true, min: 0 });

/** What each ingest shard reports every second. */
export const shardHeartbeatSchema = s.object({
  shardId: count(),
  symbols: s.array(s.string({ pattern: SYMBOL_PATTERN })),
  connected: s.boolean(),
  framesPerSecond: s.number({ min: 0 }),
  /** -1 = no frame yet. */
  lastFrameAgeMs: s.number({ min: -1 }),
  reconnects: count(),
  resyncs: count(),
  gaps: count(),
  rejectedFrames: count(),
  producerBacklog: count(),
  updatedAtMs: s.number({ min: 0 }),
});
export type ShardHeartbeat = Infer<typeof shardHeartbeatSchema>;

/** What each compute instance reports every second (field = instanceId). */
export const computeHeartbeatSchema = s.object({
  instanceId: s.string({ minLength: 1 }),
  /** Kafka partitions of the topic currently assigned to the instance. */
  partitions: s.array(count()),
  updatedAtMs: s.number({ min: 0 }),
  recordsPerSecond: s.number({ min: 0 }),
  /** Records in its partitions not yet written to Redis (high watermark - written offset). */
  lagRecords: s.number({ min: 0 }),
});
export type ComputeHeartbeat = Infer<typeof computeHeartbeatSchema>;

/** An operator command for ingest: rebuild one symbol's book, or every book of one shard. */
export const controlCommandSchema = s.refine(
  s.object({
    type: s.literal("resync"),
    symbol: s.optional(s.string({ pattern: SYMBOL_PATTERN })),
    shardId: s.optional(count()),
  }),
  (c) =>
    (c.symbol === undefined) === (c.shardId === undefined) ? "give exactly one of symbol and shardId" : undefined,
);
export type ControlCommand = Infer<typeof controlCommandSchema>;
