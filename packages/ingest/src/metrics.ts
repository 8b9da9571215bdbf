import type { Message } from "kafkajs";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { decodeBookUpdate } from "@quantcore/proto";
import { nowUs } from "@quantcore/runtime";
import type { IngestStats } from "./stats.js";

/** Counters read from the shard's stats at scrape time (one source of truth: stats()). */
const COUNTERS = [
  ["frames", "WebSocket frames received", (s: IngestStats) => s.frames],
  ["published", "Book updates queued for order_book", (s: IngestStats) => s.published],
  ["gaps", "Sequence gaps detected (each costs its book a resync)", (s: IngestStats) => s.gaps],
  ["resyncs", "Books (re)built from a snapshot (RESET records)", (s: IngestStats) => s.resets],
  ["reconnects", "WebSocket reconnects", (s: IngestStats) => s.reconnects],
  ["rotations", "Planned overlapping connection replacements", (s: IngestStats) => s.rotations],
  ["snapshot_requests", "REST depth snapshots requested", (s: IngestStats) => s.snapshotRequests],
  ["dead_lettered", "Raw frames written to the dead-letter topic", (s: IngestStats) => s.deadLettered],
  ["dead_letter_dropped", "Dead letters dropped (their queue was full)", (s: IngestStats) => s.deadLetterDropped],
  ["dropped_while_backed_up", "Diffs dropped while Kafka was backed up", (s: IngestStats) => s.droppedWhileBackedUp],
] as const;

const GAUGES = [
  ["producer_backlog", "Records queued for Kafka, not yet acknowledged", (s: IngestStats) => s.producerBacklog],
  ["dead_letter_backlog", "Dead letters queued, not yet acknowledged", (s: IngestStats) => s.deadLetterBacklog],
  ["connected", "1 while the exchange connection is open", (s: IngestStats) => (s.connected ? 1 : 0)],
  ["synced_symbols", "Books in sync", (s: IngestStats) => s.syncedSymbols],
] as const;

export interface IngestMetrics {
  readonly registry: Registry;
  /** Feeds the produce latency: ingest receive -> Kafka acknowledged, for the oldest record of each request. */
  onAcked(messages: Message[]): void;
}

/** Prometheus metrics of one ingest shard (its own registry: several shards may share a process in tests). */
export function createIngestMetrics(stats: () => IngestStats): IngestMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const [name, help, read] of COUNTERS) {
    new Counter({
      name: `quantcore_ingest_${name}_total`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(stats()));
      },
    });
  }
  for (const [name, help, read] of GAUGES) {
    new Gauge({
      name: `quantcore_ingest_${name}`,
      help,
      registers: [registry],
      collect() {
        this.set(read(stats()));
      },
    });
  }
  new Counter({
    name: "quantcore_ingest_rejected_frames_total",
    help: "Frames refused (by parser reject reason, unknown_symbol, binary)",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(stats().rejected)) this.inc({ reason }, n ?? 0);
    },
  });
  const produce = new Histogram({
    name: "quantcore_ingest_produce_latency_seconds",
    help: "Ingest receive -> Kafka acknowledged (acks=-1), for the oldest record of each order_book produce request",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  return {
    registry,
    onAcked(messages) {
      // The oldest record of the request (the first queued): one decode per request, not per
      // record, on the hot path. Records carry their receive time in the value (no headers).
      const value = messages[0]?.value;
      if (!value || typeof value === "string") return;
      let receiveUs: number;
      try {
        receiveUs = decodeBookUpdate(value).ingestReceiveTimeUs;
      } catch {
        return;
      }
      const now = nowUs();
      if (receiveUs > 0 && now >= receiveUs) produce.observe((now - receiveUs) / 1e6);
    },
  };
}
