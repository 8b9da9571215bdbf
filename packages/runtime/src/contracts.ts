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
    /** hash: replay job id -> ReplayJobRecord JSON, written only by the replay worker */
    replays: `${namespace}:replays`,
    /** pub/sub: ReplayCommand JSON for the replay worker (from the gateway) */
    replayCommands: `${namespace}:replay-commands`,
    /** list: TimeTravelRequest JSON, RPUSHed by the gateway, BLPOPed by a replay worker with a free slot */
    timeTravelRequests: `${namespace}:tt-requests`,
  } as const;
}

/** Where replay job `id` of live namespace `namespace` writes its state (its own key space). */
export function replayNamespace(namespace: string, id: string): string {
  return `${namespace}-replay-${id}`;
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
  /**
   * The same per assigned partition whose high watermark the instance knows (added later: older
   * instances omit it).
   */
  partitionLag: s.optional(s.array(s.object({ partition: count(), lag: count() }))),
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

/** A replay job id: what the gateway generates and the worker accepts. */
export const REPLAY_ID_PATTERN = /^[a-z0-9]{1,32}$/;

/** A command for the replay worker: start job `id`, or stop it. */
export const replayCommandSchema = s.object({
  type: s.oneOf(["start", "stop"] as const),
  id: s.string({ pattern: REPLAY_ID_PATTERN }),
  requestedAtMs: s.number({ min: 0 }),
});
export type ReplayCommand = Infer<typeof replayCommandSchema>;

export const REPLAY_STATES = ["running", "equal", "different", "failed", "stopped"] as const;

/** A replay job as the worker records it (`<ns>:replays`, field = id); the gateway only reads it. */
export const replayJobSchema = s.object({
  id: s.string({ pattern: REPLAY_ID_PATTERN }),
  state: s.oneOf(REPLAY_STATES),
  detail: s.string(),
  /** Redis namespace the replay writes (removed with the job). */
  namespace: s.string({ minLength: 1 }),
  /** Kafka consumer group of the replay (deleted with the job). */
  groupId: s.string({ minLength: 1 }),
  /** The worker instance running it. */
  worker: s.string({ minLength: 1 }),
  startedAtMs: s.number({ min: 0 }),
  /** Refreshed while running; a running job not refreshed for long lost its worker. */
  updatedAtMs: s.number({ min: 0 }),
  /** Set when the job ended; retention counts from here. */
  finishedAtMs: s.optional(s.number({ min: 0 })),
});
export type ReplayJobRecord = Infer<typeof replayJobSchema>;
