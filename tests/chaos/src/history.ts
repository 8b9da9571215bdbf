// The fault suite's history: one JSON object per line, appended by the observer, the fault
// injectors and (from ingest's ack log) the producer's acknowledgements. Times are wall-clock
// milliseconds; update ids and book epochs are decimal strings (uint64 on the wire).
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";

export interface Versioned {
  symbol: string;
  epoch: string;
  id: string;
}

export type HistoryEvent =
  /** Ingest's ack log: Kafka acknowledged this record (offset when the broker returned one). */
  | ({ t: number; type: "ack"; partition: number; offset?: string } & Versioned)
  /** The observer's Kafka reader: a record in the topic. */
  | ({ t: number; type: "kafka"; partition: number; offset: string; reset: boolean } & Versioned)
  /** The observer's Redis poller: the stored (epoch, id) of a symbol changed. */
  | ({ t: number; type: "redis" } & Versioned)
  /** A gRPC stream of the observer (re)connected / ended. */
  | { t: number; type: "connect"; stream: string; gateway: string }
  | { t: number; type: "end"; stream: string; reason: string }
  /** StreamReset: the server lost continuity; a fresh snapshot follows. */
  | { t: number; type: "reset"; stream: string }
  /** One MarketUpdate. `bad` names fields that were not finite (JSON cannot carry NaN). */
  | ({
      t: number;
      type: "update";
      stream: string;
      snapshot: boolean;
      late: boolean;
      bid?: number;
      ask?: number;
      bad?: string[];
    } & Versioned)
  | { t: number; type: "status"; stream: string; symbol: string; state: "LIVE" | "STALE"; reason: string }
  /** A fault window: start, end (the fault is lifted), with what proves it happened. */
  | { t: number; type: "fault"; fault: string; kind: FaultKind; phase: "start" | "end"; proof?: Proof };

export type FaultKind =
  | "kill-compute"
  | "kill-shard"
  | "kill-gateway"
  | "kill-redis"
  | "stop-broker"
  | "kill-leader"
  | "stall-ingest-kafka"
  | "stall-gateway-redis"
  | "stalled-clients"
  | "bad-frames";

/** Facts recorded by an injector; the checker judges them (see proofVerdict). */
export type Proof = Record<string, string | number | boolean | null>;

export interface HistoryMeta {
  symbols: string[];
  gateways: string[];
  /** Redis must hold Kafka's newest (epoch, id) of every symbol within this after a fault ends. */
  convergenceBoundMs: number;
  /** A stream gap longer than this (plus staleGraceMs) must be flagged STALE. */
  staleAfterMs: number;
  staleGraceMs: number;
  /** Per fault name: recovery bound (ms, absent = not judged) and acks required in the window. */
  faults: Record<string, { recoveryBoundMs?: number; minAcks: number; expected: string }>;
}

export class HistoryWriter {
  private readonly out: WriteStream;
  count = 0;
  constructor(file: string) {
    this.out = createWriteStream(file, { flags: "a" });
  }
  write(e: HistoryEvent): void {
    this.count++;
    this.out.write(JSON.stringify(e) + "\n");
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }
}

/** Reads a history file; a line that does not parse is an error naming the line (a cut-off last line is skipped). */
export function readHistory(file: string): HistoryEvent[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const out: HistoryEvent[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      out.push(JSON.parse(line) as HistoryEvent);
    } catch {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim() !== "")) {
        throw new Error(`${file}:${i + 1}: not a JSON history event`);
      }
    }
  });
  return out;
}

/** (epoch, id) order: -1, 0 or 1. */
export function compareVersion(a: { epoch: string; id: string }, b: { epoch: string; id: string }): number {
  const ea = BigInt(a.epoch);
  const eb = BigInt(b.epoch);
  if (ea !== eb) return ea < eb ? -1 : 1;
  const ia = BigInt(a.id);
  const ib = BigInt(b.id);
  return ia === ib ? 0 : ia < ib ? -1 : 1;
}
