import type { SymbolStatus } from "@quantcore/proto";
import type { DirectSink } from "./direct-drain.js";
import type { StreamMarketUpdatesResponse } from "@quantcore/proto";
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
 * registered, so nothing published in between is missed) and sent first. `replay`: a time-travel
 * stream; after the stream is registered (its mailbox conflating live updates, without lag limits,
 * meanwhile) the replay's messages go out, its handover last, and it returns the last replayed
 * (book epoch, update id) per symbol: nothing is read, and per symbol live updates not newer than
 * that position are dropped.
 */
export type LiveStart =
  | { from: "snapshot" }
  | {
      from: "replay";
      replay(signal: AbortSignal): AsyncGenerator<StreamMarketUpdatesResponse, HandoverPositions>;
    };
export const FROM_SNAPSHOT: LiveStart = Object.freeze({ from: "snapshot" });
