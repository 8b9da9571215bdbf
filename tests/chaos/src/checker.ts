// The checker: judges a recorded history (invariants + one verdict per fault), prints the table
// and writes bench/results/chaos.{json,md}.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { judgeFaults, type FaultVerdict } from "./fault-verdicts.js";
import type { HistoryEvent, HistoryMeta } from "./history.js";
import { checkInvariants, type InvariantSummary } from "./invariants.js";

export interface ChaosReport {
  ok: boolean;
  invariants: InvariantSummary;
  faults: FaultVerdict[];
  /** Faults the run was asked for that left no start event in the history. */
  missingFaults: string[];
}

export function check(events: HistoryEvent[], meta: HistoryMeta): ChaosReport {
  const sorted = [...events].sort((a, b) => a.t - b.t);
  const invariants = checkInvariants(sorted);
  const faults = judgeFaults(sorted, meta);
  const missingFaults = Object.keys(meta.faults).filter((f) => !faults.some((v) => v.fault === f));
  const ok =
    invariants.ackedLost === 0 &&
    invariants.streamIdsBackwards === 0 &&
    invariants.redisIdsBackwards === 0 &&
    invariants.snapshotMissing === 0 &&
    invariants.crossedBooks === 0 &&
    invariants.nonFinite === 0 &&
    invariants.acked > 0 &&
    faults.every((f) => f.verdict === "PASS") &&
    missingFaults.length === 0;
  return { ok, invariants, faults, missingFaults };
}

const cell = (s: string) => s.replaceAll("|", "\\|");

export function renderMarkdown(r: ChaosReport, context: string): string {
  const i = r.invariants;
  const lines = [
    "# Fault suite (`npm run chaos`)",
    "",
    context,
    "",
    `Verdict: **${r.ok ? "PASS" : "FAIL"}**`,
    "",
    "| invariant | observed |",
    "| --- | --- |",
    `| acknowledged records lost | ${i.ackedLost} of ${i.acked} acknowledged (${i.kafkaRecords} records read back from Kafka) |`,
    `| duplicates in Kafka (re-sent batches, harmless under the id guard) | ${i.duplicates} |`,
    `| ids backwards on streams | ${i.streamIdsBackwards} in ${i.streamUpdates} streamed updates |`,
    `| ids backwards in Redis | ${i.redisIdsBackwards} |`,
    `| live update before a snapshot | ${i.snapshotMissing} |`,
    `| crossed books / non-finite values | ${i.crossedBooks} / ${i.nonFinite} |`,
    "",
    "| fault | expected | observed | recovery s | verdict |",
    "| --- | --- | --- | --- | --- |",
    ...r.faults.map(
      (f) =>
        `| ${cell(f.fault)} | ${cell(f.expected)} | ${cell(f.observed)}${f.failures.length ? `; **${cell(f.failures.join("; "))}**` : ""} | ${f.recoverySeconds ?? "-"} | ${f.verdict} |`,
    ),
    ...r.missingFaults.map((f) => `| ${cell(f)} | | not run | - | FAIL |`),
    "",
  ];
  if (i.violations.length > 0) {
    lines.push("Violations (first of each kind):", "", ...i.violations.map((v) => `- ${v.invariant}: ${v.detail}`), "");
  }
  return lines.join("\n");
}

export function writeReport(r: ChaosReport, dir: string, context: Record<string, unknown>, contextText: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "chaos.json"), JSON.stringify({ ...context, ...r }, null, 2) + "\n");
  writeFileSync(path.join(dir, "chaos.md"), renderMarkdown(r, contextText));
}

/** The table for the terminal. */
export function renderTable(r: ChaosReport): string {
  const rows = [
    ["fault", "expected", "observed", "recovery s", "verdict"],
    ...r.faults.map((f) => [
      f.fault,
      f.expected,
      f.observed + (f.failures.length ? ` [${f.failures.join("; ")}]` : ""),
      String(f.recoverySeconds ?? "-"),
      f.verdict,
    ]),
  ];
  const i = r.invariants;
  return [
    `acked ${i.acked}, lost ${i.ackedLost}, duplicates ${i.duplicates}; stream ids backwards ${i.streamIdsBackwards} of ${i.streamUpdates}; redis ids backwards ${i.redisIdsBackwards}; snapshot missing ${i.snapshotMissing}; crossed ${i.crossedBooks}; non-finite ${i.nonFinite}`,
    ...rows.map((r) => r.join(" | ")),
    `verdict: ${r.ok ? "PASS" : "FAIL"}`,
  ].join("\n");
}
