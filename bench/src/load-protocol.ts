// What the load bench and its client process say to each other over IPC, and the hop names.
import type { Summary } from "./report.js";

export const HOPS = [
  "ingest receive -> kafka produce",
  "kafka produce -> compute receive",
  "compute receive -> redis publish",
  "redis publish -> gateway send",
  "gateway send -> client receive",
] as const;
export const E2E = "end to end: ingest receive -> client receive";

export type ToClient = { kind: "progress" } | { kind: "measure" } | { kind: "report" } | { kind: "stop" };
export interface ClientProgress {
  kind: "progress";
  liveSymbols: number;
  received: number;
}
export interface ClientReport {
  kind: "report";
  /** Live updates received in the window (snapshots excluded). */
  updates: number;
  messages: number;
  latencyMs: Record<string, Summary>;
  /** An update id lower than the previous one of its symbol within the same book epoch. */
  idsBackwards: number;
  /** A book epoch lower than the previous one of its symbol. */
  epochsBackwards: number;
  /** The same id again within an epoch (not an error for the contract, counted to see it). */
  idsRepeated: number;
  late: number;
  staleEvents: number;
  resets: number;
  streamErrors: number;
  /** Every live update of the checked (recorded) symbols in the window, as received. */
  checked: SeenBook[];
}

/** What a bot sees of one book: checked after the point against an independent rebuild of the recording. */
export interface SeenBook {
  symbol: string;
  id: number;
  obi1: number;
  obi20: number;
  bid: [number, number];
  ask: [number, number];
}
