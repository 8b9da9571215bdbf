import assert from "node:assert/strict";
import { test } from "node:test";
import { waitFor } from "@quantcore/runtime";
import { isAlive } from "@quantcore/stack";
import { superviseShards } from "../src/index.js";

test("supervisor: one process per shard with its SHARD_ID; a crashed shard alone is restarted; stop ends all", async () => {
  const seen = new Map<number, string>();
  // A stand-in shard: prints its env and stays up until signalled.
  const sup = superviseShards({
    command: [
      process.execPath,
      "-e",
      "console.log(process.env.SHARD_ID + '/' + process.env.SHARD_COUNT); setInterval(() => {}, 1000)",
    ],
    shardCount: 3,
    restartInitialDelayMs: 50,
    restartMaxDelayMs: 200,
    onOutput: (shard, c) => seen.set(shard, c.toString().trim()),
  });
  try {
    await waitFor(() => seen.size === 3 && sup.status().every((s) => s.pid !== undefined), "every shard up", {
      timeoutMs: 10_000,
    });
    assert.deepEqual([...seen.entries()].sort(), [
      [0, "0/3"],
      [1, "1/3"],
      [2, "2/3"],
    ]);
    const before = sup.status();
    process.kill(before[1]!.pid!, "SIGKILL");
    await waitFor(
      () => sup.status()[1]!.pid !== undefined && sup.status()[1]!.pid !== before[1]!.pid,
      "shard 1 restarted",
      {
        timeoutMs: 10_000,
      },
    );
    const after = sup.status();
    assert.equal(after[1]!.restarts, 1);
    assert.equal(after[1]!.lastExit, "signal SIGKILL");
    assert.equal(after[0]!.pid, before[0]!.pid, "other shards untouched");
    assert.equal(after[2]!.pid, before[2]!.pid, "other shards untouched");
    const pids = after.map((s) => s.pid!);
    await sup.stop();
    assert.ok(
      pids.every((p) => !isAlive(p)),
      "stop terminated every shard",
    );
  } finally {
    await sup.stop();
  }
});
