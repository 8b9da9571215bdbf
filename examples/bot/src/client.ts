import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataService, type MarketUpdate } from "@quantcore/proto";

export interface SubscribeOptions {
  /** Gateway h2c URL, e.g. http://127.0.0.1:50051 (native gRPC over HTTP/2). */
  baseUrl: string;
  /** Uppercase symbols; empty = all. */
  symbols: string[];
  maxUpdatesPerSecond?: number;
  signal?: AbortSignal;
  /** Called when the server says continuity was lost: drop local state, a snapshot follows. */
  onReset?: (reason: string) => void;
}

/**
 * Subscribes once and yields every MarketUpdate: first the current state (snapshot = true),
 * then each change. Ends when the stream ends or `signal` aborts; reconnecting is the caller's.
 */
export async function* subscribe(opts: SubscribeOptions): AsyncGenerator<MarketUpdate> {
  const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: opts.baseUrl }));
  const stream = client.streamMarketUpdates(
    { symbols: opts.symbols, maxUpdatesPerSecond: opts.maxUpdatesPerSecond ?? 0, allowBatches: true },
    { signal: opts.signal },
  );
  for await (const res of stream) {
    if (res.event.case === "update") yield res.event.value;
    else if (res.event.case === "batch") yield* res.event.value.updates;
    else if (res.event.case === "reset") opts.onReset?.(res.event.value.reason);
  }
}
