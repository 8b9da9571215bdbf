export interface BinanceSimOptions {
  host: string;
  /** 0 = a free port. */
  port: number;
  /** hftbacktest spot recordings, merged by local timestamp. */
  replayFiles: string[];
  /** 1 = recorded speed; 10 = ten times faster; Infinity = as fast as the sockets drain. */
  speed: number;
  /**
   * When the paced replay begins: "start" = as soon as the server listens; "firstSubscribe" = when
   * the first client subscribes to any stream (the books and REST snapshots are ready before).
   */
  startReplayOn: "start" | "firstSubscribe";
  /**
   * Carry replayed symbols on with synthetic diffs after the recording ends (update ids keep
   * increasing). Turn off when the replayed frames are evidence compared against the recording.
   */
  syntheticContinuation: boolean;
  /**
   * A replayed symbol whose frames span this much recorded time without its REST snapshot line
   * (a continuation file replayed without its first part) is a replay error: logged, counted in
   * stats().replayErrors, on GET /sim/status, and its depth requests answer -1121.
   */
  replaySnapshotWindowMs: number;
  /** Symbols served from synthetic books (uppercase). */
  syntheticSymbols: string[];
  /** Diff events per second per synthetic symbol (Binance's @100ms streams carry up to 10). */
  syntheticUpdatesPerSecond: number;
  /** Period of the timer that emits every synthetic symbol's due diffs (smaller = smoother at high rates). */
  syntheticTickMs: number;
  seed: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  maxConnectionLifetimeMs: number;
  /** Send `serverShutdown` this long before the lifetime close (0 = no event). */
  serverShutdownLeadMs: number;
  maxIncomingMessagesPerSecond: number;
  maxStreamsPerConnection: number;
  maxConnectionsPer5Min: number;
  restWeightPerMinute: number;
  /** First 418 ban; doubles for repeat offenders. */
  banInitialMs: number;
  /** Pause pushing while a client's socket buffers more than this (backpressure at Infinity speed). */
  maxBufferedBytes: number;
}

export const DEFAULT_SIM_OPTIONS: Readonly<BinanceSimOptions> = Object.freeze({
  host: "127.0.0.1",
  port: 0,
  replayFiles: [],
  speed: 1,
  startReplayOn: "start",
  syntheticContinuation: true,
  replaySnapshotWindowMs: 60_000,
  syntheticSymbols: [],
  syntheticUpdatesPerSecond: 10,
  syntheticTickMs: 100,
  seed: 42,
  pingIntervalMs: 20_000,
  pongTimeoutMs: 60_000,
  maxConnectionLifetimeMs: 24 * 60 * 60 * 1000,
  serverShutdownLeadMs: 0,
  maxIncomingMessagesPerSecond: 5,
  maxStreamsPerConnection: 1024,
  maxConnectionsPer5Min: 300,
  restWeightPerMinute: 6000,
  banInitialMs: 120_000,
  maxBufferedBytes: 4 << 20,
});

/** Depth snapshot weight by limit: GET /api/v3/depth (since 2023-10-19) or USD-M GET /fapi/v1/depth. */
export function depthWeight(limit: number, futures = false): number {
  if (futures) return limit <= 50 ? 2 : limit <= 100 ? 5 : limit <= 500 ? 10 : 20;
  if (limit <= 100) return 5;
  if (limit <= 500) return 25;
  if (limit <= 1000) return 50;
  return 250;
}
