// The time-travel path between the gateway and the replay worker (docs/contracts.md, "Time
// travel"): a request on a Redis LIST, answered on a per-session Redis STREAM.
import { SYMBOL_PATTERN, redisKeys } from "./contracts.js";
import { s, type Infer } from "./schema.js";

/** A session id: what the gateway generates and the worker accepts. */
export const TIME_TRAVEL_SESSION_PATTERN = /^[a-z0-9]{1,32}$/;

export function timeTravelKeys(namespace: string) {
  return {
    /** list: TimeTravelRequest JSON, RPUSHed by the gateway, BLPOPed by a worker with a free slot */
    requests: redisKeys(namespace).timeTravelRequests,
    /** stream of session `id`: the worker's entries (see timeTravelEntry*), read and trimmed by the gateway */
    stream: (id: string) => `${namespace}:tt:${id}`,
    /** string of session `id`, set with a TTL by the gateway after every read: gone = session abandoned */
    alive: (id: string) => `${namespace}:tt:${id}:alive`,
  };
}

/** What the gateway asks a worker for. */
export const timeTravelRequestSchema = s.object({
  session: s.string({ pattern: TIME_TRAVEL_SESSION_PATTERN }),
  /** Empty = every symbol. */
  symbols: s.array(s.string({ pattern: SYMBOL_PATTERN })),
  /** Ingest receive time to start at, microseconds since the Unix epoch. */
  startTimeUs: s.number({ min: 1 }),
  /** 0 = as fast as the gateway reads; N = N times the recorded pace. */
  replaySpeed: s.number({ min: 0 }),
  requestedAtMs: s.number({ min: 0 }),
});
export type TimeTravelRequest = Infer<typeof timeTravelRequestSchema>;

/** Entry field `t` (type) of a session stream; field `d` holds the data. */
/** `tick`: the worker is alive (written while it waits, at most every few seconds); no data. */
/**
 * `updates`: several replayed updates in order, as the bytes of a MarketUpdateBatch (field 1
 * repeated; a symbol may repeat); `update`: one (MarketUpdate bytes). The worker writes `updates`.
 */
export const TIME_TRAVEL_ENTRY_TYPES = ["accepted", "tick", "update", "updates", "rejected", "end"] as const;
/** The most updates a worker puts in one `updates` entry. */
export const TIME_TRAVEL_UPDATES_PER_ENTRY = 64;
export type TimeTravelEntryType = (typeof TIME_TRAVEL_ENTRY_TYPES)[number];

/** `accepted`: a worker took the request (the gateway stops its acceptance deadline). */
export const timeTravelAcceptedSchema = s.object({
  worker: s.string({ minLength: 1 }),
});

/** `rejected`: the session ended with an error (before or during the replay); `code` is a QuantCoreError kind. */
export const timeTravelRejectedSchema = s.object({
  code: s.oneOf(["invalid_argument", "failed_precondition", "resource_exhausted", "unavailable", "internal"] as const),
  message: s.string(),
});
export type TimeTravelRejected = Infer<typeof timeTravelRejectedSchema>;

const decimal = () => s.string({ pattern: /^[0-9]{1,20}$/ });

/** `end`: every record up to the end offsets was replayed; the last (epoch, id) sent per symbol. */
export const timeTravelEndSchema = s.object({
  positions: s.array(
    s.object({
      symbol: s.string({ pattern: SYMBOL_PATTERN }),
      /** Decimal (uint64). */
      epoch: decimal(),
      updateId: decimal(),
    }),
  ),
  replayedUpdates: s.number({ int: true, min: 0 }),
  /** Ingest receive time of the last replayed record (0 = none). */
  replayedUntilUs: s.number({ min: 0 }),
});
export type TimeTravelEnd = Infer<typeof timeTravelEndSchema>;
