import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { MarketUpdate } from "@quantcore/proto";
import { nowUs } from "@quantcore/runtime";
import type { TimeTravelSessions } from "./time-travel/sessions.js";

const LAYERS = [
  ["ingest", "ingestReceiveUs", "ingestProduceUs"],
  ["kafka", "ingestProduceUs", "computeReceiveUs"],
  ["compute", "computeReceiveUs", "computePublishUs"],
  ["redis_to_gateway", "computePublishUs", "gatewaySendUs"],
] as const;

export type Metrics = ReturnType<typeof createMetrics>;

/** Prometheus metrics of one gateway (its own registry: several gateways may share a process in tests). */
export function createMetrics() {
  const registry = new Registry();
  // Process metrics (RSS, heap, event-loop lag, GC) next to the gateway's own.
  collectDefaultMetrics({ register: registry });
  const latency = new Histogram({
    name: "quantcore_layer_latency_seconds",
    help: "Per-hop latency computed from the hop timestamps each update carries",
    labelNames: ["layer"],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const m = {
    registry,
    messagesIn: new Counter({
      name: "quantcore_gateway_messages_in_total",
      help: "Updates received from Redis",
      registers: [registry],
    }),
    messagesOut: new Counter({
      name: "quantcore_gateway_messages_out_total",
      help: "Updates sent to clients",
      registers: [registry],
    }),
    clients: new Gauge({ name: "quantcore_gateway_clients", help: "Open streams", registers: [registry] }),
    conflated: new Counter({
      name: "quantcore_gateway_conflated_total",
      help: "Updates replaced by a newer one before delivery",
      registers: [registry],
    }),
    clientsEndedForLag: new Counter({
      name: "quantcore_gateway_clients_ended_for_lag_total",
      help: "Streams ended with RESOURCE_EXHAUSTED",
      registers: [registry],
    }),
    rejectedContracts: new Counter({
      name: "quantcore_gateway_rejected_contract_values_total",
      help: "JSON contract values refused by their schema (heartbeats), by contract",
      labelNames: ["contract"],
      registers: [registry],
    }),
    statusChanges: new Counter({
      name: "quantcore_gateway_symbol_status_changes_total",
      help: "Symbol LIVE/STALE changes, by new state",
      labelNames: ["state"],
      registers: [registry],
    }),
    fanoutFlush: new Histogram({
      name: "quantcore_gateway_fanout_flush_seconds",
      help: "Time one fan-out flush holds the event loop (updates read together, handed to every stream)",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
      registers: [registry],
    }),
    lateUpdates: new Counter({
      name: "quantcore_gateway_late_updates_total",
      help: "Live updates sent with late = true (past the lateness bound after ingest received them)",
      registers: [registry],
    }),
    /** Time-travel streams: active (gauge), started and rejected by code (counters). */
    trackTimeTravel(tt: TimeTravelSessions) {
      new Gauge({
        name: "quantcore_gateway_time_travel_sessions_active",
        help: "Time-travel streams replaying now",
        registers: [registry],
        collect() {
          this.set(tt.counters.active);
        },
      });
      new Counter({
        name: "quantcore_gateway_time_travel_sessions_started_total",
        help: "Time-travel streams admitted (a replay requested)",
        registers: [registry],
        collect() {
          this.reset();
          this.inc(tt.counters.started);
        },
      });
      const rejected = new Counter({
        name: "quantcore_gateway_time_travel_sessions_rejected_total",
        help: "Time-travel streams refused or ended with an error, by code",
        labelNames: ["code"],
        registers: [registry],
      });
      tt.onRejected = (code) => rejected.inc({ code });
    },
    observe(u: MarketUpdate) {
      const t = u.timestamps;
      if (!t || u.snapshot) return;
      for (const [layer, from, to] of LAYERS) {
        if (t[from] > 0 && t[to] >= t[from]) latency.observe({ layer }, (t[to] - t[from]) / 1e6);
      }
      if (t.ingestReceiveUs > 0) latency.observe({ layer: "end_to_end_gateway" }, (nowUs() - t.ingestReceiveUs) / 1e6);
    },
  };
  return m;
}
