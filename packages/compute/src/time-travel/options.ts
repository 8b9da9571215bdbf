import { DEFAULT_OFI_OPTIONS } from "@quantcore/core";

/** Bounds and pacing of the time-travel sessions one replay worker serves. */
export interface TimeTravelOptions {
  /** Sessions this worker runs at once; it takes a request off the list only with a free slot. */
  maxSessions: number;
  /**
   * The worker pauses while a session's stream holds more updates than this (the gateway has not
   * read them; each unread entry counted as a full `updates` entry of TIME_TRAVEL_UPDATES_PER_ENTRY).
   */
  maxAheadEntries: number;
  /** Records read per second per session, at most (warm-up included). */
  maxRecordsPerSecond: number;
  /**
   * Records read per second by all of this worker's sessions together, at most (warm-up included):
   * bounds the CPU replays take from the live path on the same host (RateBudget).
   */
  maxTotalRecordsPerSecond: number;
  /** OFI windows are warmed from the log this long before the start (at least the longest window). */
  warmupMs: number;
  /** Backstop TTL of a session's stream key, refreshed on every write. */
  streamTtlMs: number;
  /** A session running longer than this is ended (rejected "unavailable"). */
  sessionTimeoutMs: number;
  /** How often the worker checks that the gateway still reads (its `alive` key). */
  aliveCheckIntervalMs: number;
  /** How long BLPOP waits for a request before the loop checks its slots and stop flag again. */
  pollTimeoutMs: number;
}

export const DEFAULT_TIME_TRAVEL_OPTIONS: Readonly<TimeTravelOptions> = Object.freeze({
  maxSessions: 4,
  maxAheadEntries: 5_000,
  maxRecordsPerSecond: 50_000,
  maxTotalRecordsPerSecond: 8_000,
  warmupMs: Math.max(...DEFAULT_OFI_OPTIONS.windowsMs) + 20_000,
  streamTtlMs: 10 * 60_000,
  sessionTimeoutMs: 2 * 3_600_000,
  aliveCheckIntervalMs: 1_000,
  pollTimeoutMs: 1_000,
});
