// The demo's top process (scripts/demo.mjs) forwards SIGINT and SIGTERM to the child it spawned
// (scripts/lib/processes.mjs forwardSignals), which stops what it started: a signal sent to the
// top process alone, not to its process group, leaves nothing running.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { waitFor } from "@quantcore/runtime";
import { isAlive } from "../src/index.js";

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  test(
    `${signal} to the demo's top process alone stops its child and the child's service`,
    { timeout: 120_000 },
    async () => {
      const top = spawn(process.execPath, [path.join(import.meta.dirname, "fixtures/demo-parent.mjs")], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      top.stdout.on("data", (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => top.on("exit", (code) => resolve(code)));
      try {
        const m = await waitFor(() => /pipeline (\d+) service (\d+)/.exec(out) ?? undefined, "the pipeline's pids", {
          timeoutMs: 60_000,
        });
        const [pipeline, service] = [Number(m[1]), Number(m[2])];
        assert.ok(isAlive(pipeline) && isAlive(service));
        top.kill(signal);
        await waitFor(() => !isAlive(service) && !isAlive(pipeline), "the pipeline and its service gone", {
          timeoutMs: 60_000,
        });
        assert.equal(await exited, 0, "the top process exits with the pipeline's code");
        assert.match(out, new RegExp(`pipeline got ${signal}`));
      } finally {
        top.kill("SIGKILL");
      }
    },
  );
}
