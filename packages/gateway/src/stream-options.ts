import type { StreamMarketUpdatesResponse, SymbolStatus } from "@quantcore/proto";
import type { DirectSink } from "./direct-drain.js";
import type { SharedUpdate } from "./encoding.js";
import type { HandoverPositions } from "./time-travel/handover.js";

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
 * registered, so nothing published in between is missed) and sent first. `replay` (time travel):
 * after the stream is registered, `replay` yields the replayed part and its handover and returns
 * the last replayed (epoch, id) per symbol; live updates not newer than it are dropped, and the
 * stream's lag limits apply only once the loop took what live left pending meanwhile.
 */
export type LiveStart =
  | { from: "snapshot" }
  | { from: "replay"; replay: () => AsyncGenerator<StreamMarketUpdatesResponse, HandoverPositions> };
export const FROM_SNAPSHOT: LiveStart = Object.freeze({ from: "snapshot" });
