// The exit guard fails a test file that leaves a referenced handle behind, naming where it was created.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";

function run(leak: boolean): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "fixtures/leaky.ts")], {
      env: { ...process.env, LEAK: leak ? "1" : "0" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

test(
  "a leaked interval fails the run (exit 1) and is named by where it was created",
  { timeout: 120_000 },
  async () => {
    const { code, stderr } = await run(true);
    assert.equal(code, 1);
    assert.match(stderr, /\[exit-guard\] FAIL/);
    assert.match(stderr, /"type": "Timeout"/);
    assert.match(stderr, /fixtures\/leaky\.ts:4/);
  },
);

test("nothing left behind: the process exits by itself with 0", { timeout: 120_000 }, async () => {
  const { code, stderr } = await run(false);
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /exit-guard/);
});
