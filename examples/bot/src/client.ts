import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataService, type MarketUpdate, type ReplayHandover, type SymbolStatus } from "@quantcore/proto";

export interface SubscribeOptions {
  /** Gateway h2c URL, e.g. http://127.0.0.1:50051 (native gRPC over HTTP/2). */
  baseUrl: string;
  /** Uppercase symbols; empty = all. */
  symbols: string[];
  maxUpdatesPerSecond?: number;
  signal?: AbortSignal;
  /** Called when the server says continuity was lost: drop local state, a snapshot follows. */
  onReset?: (reason: string) => void;
  /**
   * Called with each symbol's LIVE/STALE status: once per symbol after the snapshot, then on every
   * change. While a symbol is STALE its last value is the last known, not current.
   */
  onStatus?: (status: SymbolStatus) => void;
  /** Keepalive interval asked of the server (0 = its default, 15 s; at least 250). */
  keepaliveIntervalMs?: number;
  /**
   * Time travel: start at this ingest receive time (microseconds since the Unix epoch; 0 = live).
   * The replayed updates come first, then `onHandover`, then live.
   */
  startTimeUs?: number;
  /** Pace of the replay: 0 = as fast as the bot reads, 1 = as recorded, N = N times. */
  replaySpeed?: number;
  /** Called once when the replay ends: every update before it was replayed, every one after is live. */
  onHandover?: (handover: ReplayHandover) => void;
}

/**
 * Subscribes once and yields every MarketUpdate: first the current state (snapshot = true),
 * then each change (`late` = a value that reached the gateway past its lateness bound). Ends when the stream ends or `signal` aborts; reconnecting is the caller's.
 */
export async function* subscribe(opts: SubscribeOptions): AsyncGenerator<MarketUpdate> {
  const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: opts.baseUrl }));
  const stream = client.streamMarketUpdates(
    {
      symbols: opts.symbols,
      maxUpdatesPerSecond: opts.maxUpdatesPerSecond ?? 0,
      allowBatches: true,
      keepaliveIntervalMs: opts.keepaliveIntervalMs ?? 0,
      startTimeUs: opts.startTimeUs ?? 0,
      replaySpeed: opts.replaySpeed ?? 0,
    },
    { signal: opts.signal },
  );
  for await (const res of stream) {
    if (res.event.case === "update") yield res.event.value;
    else if (res.event.case === "batch") yield* res.event.value.updates;
    else if (res.event.case === "reset") opts.onReset?.(res.event.value.reason);
    else if (res.event.case === "status") opts.onStatus?.(res.event.value);
    else if (res.event.case === "handover") opts.onHandover?.(res.event.value);
  }
}
