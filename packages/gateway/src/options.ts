import { DEFAULT_TIME_TRAVEL_GATEWAY_OPTIONS, type TimeTravelGatewayOptions } from "./time-travel/sessions.js";

export interface GatewayOptions {
  redisUrl: string;
  redisNamespace: string;
  host: string;
  /** h2c listener: native gRPC for bots (also Connect and gRPC-Web over HTTP/2). 0 = free port. */
  grpcPort: number;
  /** HTTP/1.1 listener: gRPC-Web and Connect for browsers, plus /metrics. 0 = free port. */
  httpPort: number;
  /**
   * Keepalive message on a stream idle this long (browsers and proxies drop silent streams), unless
   * the stream asks for its own interval (StreamMarketUpdatesRequest.keepalive_interval_ms).
   */
  keepaliveIntervalMs: number;
  /** The least keepalive interval a stream may ask for. */
  minKeepaliveIntervalMs: number;
  /** A live update that reaches the gateway this long after ingest received it is sent with late = true. */
  lateAfterMs: number;
  /** A client whose mailbox holds more symbols than this is ended (RESOURCE_EXHAUSTED). */
  maxPendingPerClient: number;
  /** A client that leaves an update undelivered this long is ended (RESOURCE_EXHAUSTED). */
  maxClientLagMs: number;
  maxSymbolsPerRequest: number;
  readMaxBytes: number;
  /**
   * Responses at least this large are compressed when the client accepts it. Off by default:
   * every stream would gzip the same shared bytes again (it was a sixth of the gateway's CPU
   * at 400 streams), for messages of a few hundred bytes on a low-latency path.
   */
  compressMinBytes: number;
  /** Origins allowed to call the HTTP/1.1 listener from a browser. */
  corsAllowedOrigins: string[];
  /** Concurrent streams per client address. */
  maxStreamsPerClient: number;
  shutdownTimeoutMs: number;
  /** Liveness (SymbolStatus): judging cadence and bounds, the universe known up front. */
  statusIntervalMs: number;
  shardHeartbeatTimeoutMs: number;
  computeHeartbeatTimeoutMs: number;
  maxDataAgeMs: number;
  universeRefreshMs: number;
  universe: string[];
  /** Bearer tokens (from env or a file, never the repo). */
  operatorTokens: string[];
  botTokens: string[];
  /** Time travel (StreamMarketUpdates with start_time_us): bounds and deadlines. */
  timeTravel: TimeTravelGatewayOptions;
}

export const DEFAULT_GATEWAY_OPTIONS: Readonly<GatewayOptions> = Object.freeze({
  redisUrl: "redis://localhost:6379",
  redisNamespace: "qc",
  host: "127.0.0.1",
  grpcPort: 50051,
  httpPort: 8080,
  keepaliveIntervalMs: 15_000,
  minKeepaliveIntervalMs: 250,
  lateAfterMs: 2_000,
  maxPendingPerClient: 10_000,
  maxClientLagMs: 5_000,
  maxSymbolsPerRequest: 100,
  readMaxBytes: 64 * 1024,
  compressMinBytes: Number.MAX_SAFE_INTEGER,
  corsAllowedOrigins: ["http://localhost:3000", "http://127.0.0.1:3000"],
  maxStreamsPerClient: 100,
  shutdownTimeoutMs: 5_000,
  statusIntervalMs: 500,
  shardHeartbeatTimeoutMs: 5_000,
  computeHeartbeatTimeoutMs: 5_000,
  maxDataAgeMs: 10_000,
  universeRefreshMs: 5_000,
  universe: [],
  operatorTokens: [],
  botTokens: [],
  timeTravel: DEFAULT_TIME_TRAVEL_GATEWAY_OPTIONS,
});

export { redisKeys } from "@quantcore/runtime";
