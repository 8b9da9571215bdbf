// When is the feed "live"? Pure functions of a clock reading, unit-tested with a fake clock.

/** Defaults in one place; every duration in milliseconds. */
export const LIVENESS_DEFAULTS = {
  /** What the dashboard asks the gateway for (StreamMarketUpdatesRequest.keepalive_interval_ms). */
  keepaliveIntervalMs: 1_000,
  /** No message of any kind for this long, from a server that honours the interval = offline. */
  offlineAfterMs: 4_000,
  /**
   * The same for a server not known to honour the interval (it keepalives idle streams every
   * 15 s by default): offline only after its own keepalive period plus a margin.
   */
  legacyOfflineAfterMs: 20_000,
  /** Silence this many times the offline threshold: the stream is given up and reopened. */
  reconnectAfterFactor: 2,
} as const;

export type LivenessOptions = typeof LIVENESS_DEFAULTS;

export interface FeedClock {
  /** The stream is open (headers received) and has not failed. */
  streamOpen: boolean;
  /** Wall clock of the last message of any kind (update, batch, status, keepalive, reset). */
  lastMessageMs: number | undefined;
  /**
   * The server is known to honour keepalive_interval_ms: it sent a SymbolStatus (the same
   * server version brings both), or a keepalive came within twice the asked interval of the
   * message before it.
   */
  honoursInterval: boolean;
}

export type FeedState = "connecting" | "live" | "offline";

export function offlineThresholdMs(clock: FeedClock, o: LivenessOptions = LIVENESS_DEFAULTS): number {
  return clock.honoursInterval ? o.offlineAfterMs : o.legacyOfflineAfterMs;
}

/** Live only while the stream is open and something arrived within the threshold. */
export function feedState(clock: FeedClock, nowMs: number, o: LivenessOptions = LIVENESS_DEFAULTS): FeedState {
  if (clock.lastMessageMs === undefined) return clock.streamOpen ? "connecting" : "offline";
  if (!clock.streamOpen) return "offline";
  return nowMs - clock.lastMessageMs > offlineThresholdMs(clock, o) ? "offline" : "live";
}

/** The silent stream should be dropped and reopened (a hung server never ends it itself). */
export function shouldReconnect(clock: FeedClock, nowMs: number, o: LivenessOptions = LIVENESS_DEFAULTS): boolean {
  if (!clock.streamOpen || clock.lastMessageMs === undefined) return false;
  return nowMs - clock.lastMessageMs > offlineThresholdMs(clock, o) * o.reconnectAfterFactor;
}

/**
 * Does this keepalive show the server honours the interval? `gapMs` = time since the message
 * before it. A server on its 15 s default shows gaps far above the asked interval.
 */
export function keepaliveHonoursInterval(gapMs: number, askedMs: number): boolean {
  return gapMs <= askedMs * 2;
}
