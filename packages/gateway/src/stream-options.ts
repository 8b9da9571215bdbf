import type { SymbolStatus } from "@quantcore/proto";
import type { DirectSink } from "./direct-drain.js";
import type { SharedUpdate } from "./encoding.js";

/** What a stream reads besides the fan-out: the stored state and the symbols' statuses. */
export interface StreamSource {
  /** The stored state of these symbols (every symbol when empty), stamped as a snapshot. */
  snapshot(symbols: string[]): Promise<SharedUpdate[]>;
  /** The same, retried with backoff (after an outage the store may still be reconnecting) until `signal` aborts. */
  snapshotRetrying(symbols: string[], signal: AbortSignal): Promise<SharedUpdate[]>;
  statusOf(symbol: string): SymbolStatus;
  /** Every symbol the gateway knows (a stream of all symbols gets their statuses). */
  symbols(): string[];
}

export interface ClientStreamOptions {
  /** Requested symbols, validated and unique; empty = every symbol. */
  symbols: string[];
  maxUpdatesPerSecond: number;
  allowBatches: boolean;
  keepaliveMs: number;
  /** Binary codecs get shared encodings (and may be written directly); JSON gets objects. */
  binary: boolean;
  /** The transport for direct writes (binary, uncapped streams only). */
  sink: DirectSink | undefined;
  limits: { maxPending: number; maxLagMs: number };
  /** Ends the transport of a stream that fell behind (a stalled client never resumes its generator). */
  kill: () => void;
}

/**
 * Where the live phase starts. `snapshot`: the stored state is read (after the stream is
 * registered, so nothing published in between is missed) and sent first. `positions`: nothing is
 * read; per symbol, live updates at or below the given (book_epoch, update_id) are dropped (a
 * time-travel stream that replayed up to these positions and sent its handover, whose
 * SymbolPosition entries they are).
 */
export type LiveStart =
  { from: "snapshot" } | { from: "positions"; positions: ReadonlyMap<string, { bookEpoch: bigint; updateId: bigint }> };
export const FROM_SNAPSHOT: LiveStart = Object.freeze({ from: "snapshot" });
