// The replay worker's CPU priority reaches every thread of its process (V8's and libuv's too).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

const hasProcfs = (() => {
  try {
    return readdirSync("/proc/self/task").length > 0;
  } catch {
    return false;
  }
})();

test("setProcessNice lowers the priority of every thread, not only the calling one", { skip: !hasProcfs }, () => {
  // In a child process (the test runner keeps its priority): threads that exist before the call
  // (V8's platform workers, libuv's pool after a crypto call), and a worker thread started after it.
  const script = `
    import { pbkdf2 } from "node:crypto";
    import { readdirSync, readFileSync } from "node:fs";
    import { Worker } from "node:worker_threads";
    import { setProcessNice } from ${JSON.stringify(path.join(import.meta.dirname, "../src/priority.ts"))};
    await new Promise((r) => pbkdf2("x", "y", 1, 8, "sha256", r));
    const changed = setProcessNice(7);
    const w = new Worker("setTimeout(() => {}, 300)", { eval: true });
    await new Promise((r) => w.once("online", r));
    const nice = readdirSync("/proc/self/task").map((t) => {
      const stat = readFileSync("/proc/self/task/" + t + "/stat", "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
    });
    console.log(JSON.stringify({ changed, nice }));
    await w.terminate();
  `;
  const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  const { changed, nice } = JSON.parse(out.trim().split("\n").at(-1)!) as { changed: number; nice: number[] };
  assert.ok(changed > 1, `more than the main thread changed (${changed})`);
  assert.ok(nice.length > 1);
  assert.deepEqual(
    nice.filter((n) => n !== 7),
    [],
    `every thread at nice 7: ${nice.join(",")}`,
  );
});
