// One fault-suite run: start the topology, let it settle, inject each fault in turn with a
// recovery period between, stop ingest (so every acknowledged record was produced before the
// observer reads the topic to its end), then judge the merged history.
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { sleep } from "@quantcore/runtime";
import { stopChild } from "../../../bench/src/load-procs.js";
import { check, type ChaosReport } from "./checker.js";
import type { Fault } from "./faults.js";
import { HistoryWriter, readHistory, type HistoryMeta } from "./history.js";
import { DEFAULT_TOPOLOGY, startTopology, type TopologySettings } from "./topology.js";

export interface ChaosOptions {
  faults: Fault[];
  /** Judge recovery times against each fault's bound (the full run); the short run does not. */
  recoveryBounds: boolean;
  convergenceBoundMs: number;
  /** Quiet time after start-up and between faults. */
  warmupMs: number;
  recoveryMs: number;
  workDir: string;
  topology: Partial<Omit<TopologySettings, "workDir">>;
  log: (line: string) => void;
}

export const DEFAULT_CHAOS_OPTIONS: Readonly<Omit<ChaosOptions, "faults" | "workDir">> = Object.freeze({
  recoveryBounds: true,
  convergenceBoundMs: 30_000,
  warmupMs: 15_000,
  recoveryMs: 30_000,
  topology: {},
  log: (line: string) => console.log(`[chaos] ${line}`),
});

export interface ChaosRun {
  report: ChaosReport;
  meta: HistoryMeta;
  workDir: string;
  events: number;
  durationSeconds: number;
}

export async function runChaos(
  opts: Partial<ChaosOptions> & Pick<ChaosOptions, "faults" | "workDir">,
): Promise<ChaosRun> {
  const o = { ...DEFAULT_CHAOS_OPTIONS, ...opts };
  const started = Date.now();
  if (existsSync(path.join(o.workDir, "history.jsonl"))) throw new Error(`${o.workDir} holds an earlier run`);
  mkdirSync(o.workDir, { recursive: true });
  o.log(`starting the topology (logs: ${path.join(o.workDir, "logs")})`);
  const t = await startTopology({ ...DEFAULT_TOPOLOGY, ...o.topology, workDir: o.workDir });
  const faultsFile = path.join(o.workDir, "faults.jsonl");
  const out = new HistoryWriter(faultsFile);
  try {
    o.log(`every symbol live on every gateway after ${Math.round((Date.now() - started) / 1000)} s`);
    await sleep(o.warmupMs);
    for (const f of o.faults) {
      o.log(`fault: ${f.name}`);
      out.write({ t: Date.now(), type: "fault", fault: f.name, kind: f.kind, phase: "start" });
      const proof = await f.inject(t);
      out.write({ t: Date.now(), type: "fault", fault: f.name, kind: f.kind, phase: "end", proof });
      o.log(`  over: ${JSON.stringify(proof)}`);
      await f.restore?.(t);
      await sleep(o.recoveryMs);
    }
    o.log("stopping ingest, reading Kafka to its end");
    await stopChild(t.ingest, 30_000);
    await t.drainObserver();
  } finally {
    await out.close();
    await t.stop();
  }
  const meta: HistoryMeta = {
    symbols: [...t.symbols],
    gateways: t.gateways.map((g) => g.name),
    convergenceBoundMs: o.convergenceBoundMs,
    staleAfterMs: 10_000,
    staleGraceMs: 5_000,
    faults: Object.fromEntries(
      o.faults.map((f) => [
        f.name,
        {
          expected: f.expected,
          minAcks: f.minAcks,
          ...(o.recoveryBounds ? { recoveryBoundMs: f.recoveryBoundMs } : {}),
        },
      ]),
    ),
  };
  const events = [...readHistory(t.historyFile), ...readHistory(faultsFile), ...readHistory(t.ackLogFile)];
  o.log(`judging ${events.length} events`);
  return {
    report: check(events, meta),
    meta,
    workDir: o.workDir,
    events: events.length,
    durationSeconds: Math.round((Date.now() - started) / 1000),
  };
}
