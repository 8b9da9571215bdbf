import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ComputeStats } from "./stats.js";
import type { TimeTravelStats } from "./time-travel/pool.js";

const COUNTERS = [
  ["records", "Kafka records received", (s: ComputeStats) => s.records],
  ["bad_records", "Records that did not decode (skipped)", (s: ComputeStats) => s.badRecords],
  ["batches", "Fetched batches written to Redis", (s: ComputeStats) => s.batches],
  ["writes_attempted", "Symbol states sent to Redis", (s: ComputeStats) => s.writesAttempted],
  ["writes_applied", "Symbol states Redis applied (newer than the stored one)", (s: ComputeStats) => s.writesApplied],
  [
    "writes_saved_by_dedup",
    "Updates not written because a newer one of the same symbol was in the same write",
    (s: ComputeStats) => s.writesSavedByDedup,
  ],
  ["redis_retries", "Redis writes retried", (s: ComputeStats) => s.redisRetries],
] as const;

export interface ComputeMetrics {
  readonly registry: Registry;
  /** Feeds the Redis write latency (one Lua call per write). */
  observeWrite(seconds: number): void;
}

/** Prometheus metrics of one compute instance (its own registry: several may share a process in tests). */
export function createComputeMetrics(
  stats: () => ComputeStats,
  partitionLag: () => { partition: number; lag: number }[],
): ComputeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const [name, help, read] of COUNTERS) {
    new Counter({
      name: `quantcore_compute_${name}_total`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(stats()));
      },
    });
  }
  new Gauge({
    name: "quantcore_compute_pending_records",
    help: "Records fetched and not yet acknowledged by Redis",
    registers: [registry],
    collect() {
      this.set(stats().pendingRecords);
    },
  });
  new Gauge({
    name: "quantcore_compute_lag_records",
    help: "Records the broker holds and Redis does not yet have, per assigned partition",
    labelNames: ["partition"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of partitionLag()) this.set({ partition: String(p.partition) }, p.lag);
    },
  });
  const write = new Histogram({
    name: "quantcore_compute_redis_write_seconds",
    help: "One Redis write (the Lua call carrying every symbol's newest state), acknowledged",
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  return { registry, observeWrite: (s) => write.observe(s) };
}

/** Prometheus metrics of the replay worker: its counters, read at scrape time. */
export function createReplayWorkerMetrics(
  stats: () => Record<string, number>,
  timeTravel?: () => TimeTravelStats,
): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Counter({
    name: "quantcore_replay_worker_events_total",
    help: "Replay worker events: commands, rejectedCommands, started, refused, finished, cleaned, orphaned",
    labelNames: ["event"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [event, n] of Object.entries(stats())) this.inc({ event }, n);
    },
  });
  if (!timeTravel) return registry;
  new Gauge({
    name: "quantcore_time_travel_sessions_active",
    help: "Time-travel sessions this worker is replaying now",
    registers: [registry],
    collect() {
      this.set(timeTravel().active);
    },
  });
  const ttCounters = [
    ["sessions_started", "Time-travel sessions taken off the request list", "started"],
    ["sessions_completed", "Time-travel sessions replayed to their end offsets", "completed"],
    ["sessions_rejected", "Time-travel sessions answered with an error (horizon, failure, timeout)", "rejected"],
    ["sessions_abandoned", "Time-travel sessions ended because the gateway stopped reading", "abandoned"],
    ["bad_requests", "Time-travel requests that did not parse", "badRequests"],
    ["records", "Kafka records read by time-travel sessions (warm-up included)", "records"],
    ["updates", "Updates time-travel sessions sent", "updates"],
  ] as const;
  for (const [name, help, field] of ttCounters) {
    new Counter({
      name: `quantcore_time_travel_${name}_total`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(timeTravel()[field]);
      },
    });
  }
  return registry;
}
