// The session stream writer: updates packed into `updates` entries (MarketUpdateBatch bytes, at
// most TIME_TRAVEL_UPDATES_PER_ENTRY each, in order, other entries between them in place) and the
// bound on unread updates. A fake Redis records the commands (no server).
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import type { Redis } from "ioredis";
import { MarketUpdateBatchSchema, MarketUpdateSchema, encodeMarketUpdate } from "@quantcore/proto";
import { TIME_TRAVEL_UPDATES_PER_ENTRY } from "@quantcore/runtime";
import { SessionStreamWriter } from "../src/time-travel/stream-writer.js";

class FakeRedis {
  entries: [string, Buffer | string][] = [];
  /** XLEN answers, in turn (the last one repeats). */
  lengths = [0];
  xlenCalls = 0;
  exists = async () => 1;
  xlen = async () => this.lengths[Math.min(this.xlenCalls++, this.lengths.length - 1)]!;
  pipeline() {
    const cmds: (() => void)[] = [];
    const p = {
      xadd: (_key: string, _id: string, _t: string, type: string, _d: string, data: Buffer | string) => {
        cmds.push(() => this.entries.push([type, data]));
        return p;
      },
      pexpire: () => p,
      exec: async () => {
        for (const c of cmds) c();
        return cmds.map(() => [null, "ok"]);
      },
    };
    return p;
  }
}

const options = { maxAheadEntries: 5_000, streamTtlMs: 60_000, aliveCheckIntervalMs: 1_000 };
const update = (i: number) =>
  create(MarketUpdateSchema, { symbol: i % 3 === 0 ? "ETHUSDT" : "BTCUSDT", updateId: BigInt(i + 1) });

test("updates go out packed, in order, at most TIME_TRAVEL_UPDATES_PER_ENTRY an entry; other entries keep their place", async () => {
  const redis = new FakeRedis();
  const w = new SessionStreamWriter(redis as unknown as Redis, "qc", "s1", options, new AbortController().signal);
  const n = 2 * TIME_TRAVEL_UPDATES_PER_ENTRY + 5;
  for (let i = 0; i < n; i++) w.addUpdate(encodeMarketUpdate(update(i)));
  assert.equal(w.size(), n);
  w.add("tick", "");
  w.addUpdate(encodeMarketUpdate(update(n)));
  await w.flush();
  assert.equal(w.size(), 0);
  assert.deepEqual(
    redis.entries.map(([t]) => t),
    ["updates", "updates", "updates", "tick", "updates"],
  );
  const ids = redis.entries
    .filter(([t]) => t === "updates")
    .map(([, d]) => fromBinary(MarketUpdateBatchSchema, d as Buffer).updates.map((u) => Number(u.updateId)));
  assert.deepEqual(
    ids.map((x) => x.length),
    [TIME_TRAVEL_UPDATES_PER_ENTRY, TIME_TRAVEL_UPDATES_PER_ENTRY, 5, 1],
  );
  assert.deepEqual(
    ids.flat(),
    Array.from({ length: n + 1 }, (_, i) => i + 1),
  );
});

test("the writer waits while the unread entries, counted full, exceed the bound in updates", async () => {
  const redis = new FakeRedis();
  // 5,000 updates = 78 full entries: 80 unread is too many; then the gateway catches up.
  redis.lengths = [80, 80, 10];
  const w = new SessionStreamWriter(redis as unknown as Redis, "qc", "s2", options, new AbortController().signal);
  w.addUpdate(encodeMarketUpdate(update(1)));
  await w.flush();
  assert.equal(redis.xlenCalls, 3);
  assert.equal(redis.entries.length, 1);
});
