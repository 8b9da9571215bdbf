// `npm run chaos`: the full fault suite on the deployed topology, with recovery bounds; prints
// the table and writes bench/results/chaos.{json,md}. Exit code 1 when any verdict fails.
// Env: CHAOS_FAULTS (comma-separated kinds, default all), CHAOS_RECOVERY_SECONDS (30),
// CHAOS_UPDATES_PER_SECOND_PER_SYMBOL (5), CHAOS_WORK_DIR (default .quantcore/chaos-<time>),
// CHAOS_RESULTS_DIR (default bench/results; a partial run can write elsewhere).
import os from "node:os";
import path from "node:path";
import { EnvReader } from "@quantcore/runtime";
import { renderTable, writeReport } from "./checker.js";
import { FULL_SUITE } from "./faults.js";
import { runChaos } from "./run.js";

const repoRoot = path.resolve(import.meta.dirname, "../../..");
const env = new EnvReader();
const kinds = env.list(
  "CHAOS_FAULTS",
  FULL_SUITE.map((f) => f.kind),
);
const recoverySeconds = env.int("CHAOS_RECOVERY_SECONDS", 30, { min: 5 });
const rate = env.int("CHAOS_UPDATES_PER_SECOND_PER_SYMBOL", 5, { min: 1, max: 100 });
const workDir = env.string("CHAOS_WORK_DIR", path.join(repoRoot, ".quantcore", `chaos-${Date.now()}`));
const resultsDir = env.string("CHAOS_RESULTS_DIR", path.join(repoRoot, "bench", "results"));
env.done();
const unknown = kinds.filter((k) => !FULL_SUITE.some((f) => f.kind === k));
if (unknown.length > 0) {
  console.error(`CHAOS_FAULTS: unknown ${unknown.join(", ")} (known: ${FULL_SUITE.map((f) => f.kind).join(", ")})`);
  process.exit(2);
}
const faults = FULL_SUITE.filter((f) => kinds.includes(f.kind));

const run = await runChaos({
  faults,
  workDir,
  recoveryBounds: true,
  recoveryMs: recoverySeconds * 1000,
  topology: { updatesPerSecondPerSymbol: rate },
});
console.log(renderTable(run.report));
const context = {
  command: "npm run chaos",
  at: new Date().toISOString(),
  host: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${os.loadavg()[0]!.toFixed(1)} at the end`,
  topology:
    "3 KRaft brokers (RF 3, min.insync 2, acks=all, idempotence off), 3 ingest shards, 2 compute, 2 gateways, observer",
  updatesPerSecondPerSymbol: rate,
  symbols: 30,
  recoverySecondsBetweenFaults: recoverySeconds,
  convergenceBoundSeconds: run.meta.convergenceBoundMs / 1000,
  durationSeconds: run.durationSeconds,
  historyEvents: run.events,
  history: run.workDir,
};
writeReport(
  run.report,
  resultsDir,
  context,
  [
    `Run ${context.at} on ${context.host}; ${context.topology}; 30 synthetic symbols at ${rate} updates/s each.`,
    `Faults one at a time, ${recoverySeconds} s of recovery between; Redis must hold Kafka's newest (epoch, id)`,
    `of every symbol within ${context.convergenceBoundSeconds} s of each fault's end; recovery = first live update of`,
    `every symbol on every gateway after the fault ended. Judged from the recorded history (${run.events} events) only.`,
  ].join("\n"),
);
console.log(`results: ${path.join(resultsDir, "chaos.{json,md}")}; history: ${run.workDir}`);
process.exit(run.report.ok ? 0 : 1);
