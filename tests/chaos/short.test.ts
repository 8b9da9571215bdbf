// The short fault run inside `npm test`: on the 3-broker cluster, a SIGKILL of the leader of
// BTCUSDT's partition while ingest produces, then a SIGKILL of a compute instance. Invariants
// only (nothing acknowledged lost, no id backwards, snapshot first, proofs that each fault
// happened, acks during each window); recovery-time bounds belong to `npm run chaos`.
import assert from "node:assert/strict";
import os from "node:os";
import path from "node:path";
import { mkdtempSync } from "node:fs";
import { test } from "node:test";
import { renderTable } from "./src/checker.js";
import { SHORT_SUITE } from "./src/faults.js";
import { runChaos } from "./src/run.js";

test(
  "short fault run: leader kill on the 3-broker cluster and a compute SIGKILL lose nothing acknowledged",
  { timeout: 900_000 },
  async () => {
    const run = await runChaos({
      faults: SHORT_SUITE,
      workDir: mkdtempSync(path.join(os.tmpdir(), "qc-chaos-short-")),
      recoveryBounds: false,
      // Not a time bound of the test: only "Redis catches up at all" within a generous window.
      convergenceBoundMs: 180_000,
      warmupMs: 5_000,
      recoveryMs: 15_000,
      topology: { updatesPerSecondPerSymbol: 3 },
      log: (l) => console.error(`[chaos-short] ${l}`),
    });
    const r = run.report;
    console.error(renderTable(r));
    const i = r.invariants;
    assert.ok(i.acked > 0, "records were acknowledged");
    assert.equal(i.ackedLost, 0, "acknowledged records lost");
    assert.equal(i.streamIdsBackwards, 0, "ids backwards on a stream");
    assert.equal(i.redisIdsBackwards, 0, "ids backwards in Redis");
    assert.equal(i.snapshotMissing, 0, "live update before a snapshot");
    assert.equal(i.crossedBooks + i.nonFinite, 0, "crossed or non-finite values");
    for (const f of r.faults) assert.deepEqual(f.failures, [], `${f.fault}: ${f.failures.join("; ")}`);
    assert.equal(r.faults.length, SHORT_SUITE.length);
  },
);
