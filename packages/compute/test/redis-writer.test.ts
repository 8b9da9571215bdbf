import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { waitFor } from "@quantcore/runtime";
import { startRedis, type RedisHandle } from "@quantcore/stack";
import { redisKeys } from "../src/options.js";
import { RedisStateWriter } from "../src/redis-writer.js";

let handle: RedisHandle | undefined;
let url: string;

before(async () => {
  if (process.env.REDIS_URL) url = process.env.REDIS_URL;
  else {
    handle = await startRedis();
    url = handle.url;
  }
});
after(async () => {
  await handle?.stop();
});

const bytes = (s: string) => new TextEncoder().encode(s);

test("state only moves forward: older or equal ids are neither written nor published", async () => {
  const ns = `t${randomUUID().slice(0, 8)}`;
  const keys = redisKeys(ns);
  const sub = new Redis(url);
  const published: string[] = [];
  await sub.subscribe(keys.updates);
  sub.on("message", (_ch, msg) => published.push(msg));
  const writer = new RedisStateWriter(url, ns);
  await writer.connect();
  try {
    assert.equal(await writer.write([{ symbol: "BTCUSDT", epoch: 0n, updateId: 10n, payload: bytes("b10") }]), 1);
    assert.equal(
      await writer.write([
        { symbol: "BTCUSDT", epoch: 0n, updateId: 9n, payload: bytes("b9") },
        { symbol: "BTCUSDT", epoch: 0n, updateId: 10n, payload: bytes("b10-again") },
        { symbol: "ETHUSDT", epoch: 0n, updateId: 5n, payload: bytes("e5") },
      ]),
      1,
    );
    // Ids beyond 2^53 compare exactly (a double would call these equal).
    assert.equal(
      await writer.write([{ symbol: "XRPUSDT", epoch: 0n, updateId: 2n ** 60n + 1n, payload: bytes("x1") }]),
      1,
    );
    assert.equal(await writer.write([{ symbol: "XRPUSDT", epoch: 0n, updateId: 2n ** 60n, payload: bytes("x0") }]), 0);
    assert.equal(await writer.write([{ symbol: "BTCUSDT", epoch: 0n, updateId: 100n, payload: bytes("b100") }]), 1);

    const r = new Redis(url);
    assert.deepEqual(await r.hgetall(keys.state), { BTCUSDT: "b100", ETHUSDT: "e5", XRPUSDT: "x1" });
    assert.equal(await r.hget(keys.ids, "XRPUSDT"), (2n ** 60n + 1n).toString());
    r.disconnect();
    await waitFor(() => published.length === 4, "4 publishes");
    assert.deepEqual(published, ["b10", "e5", "x1", "b100"]);
  } finally {
    await writer.close();
    sub.disconnect();
  }
});

test("a newer book epoch replaces state whatever its id; an older epoch is refused", async () => {
  const ns = `t${randomUUID().slice(0, 8)}`;
  const keys = redisKeys(ns);
  const writer = new RedisStateWriter(url, ns);
  await writer.connect();
  const r = new Redis(url);
  try {
    // Before epochs existed (epoch 0), then a rebuild whose ids restart lower (a new source).
    assert.equal(await writer.write([{ symbol: "BTCUSDT", epoch: 0n, updateId: 50_000n, payload: bytes("old") }]), 1);
    const e1 = 1_764_500_000_000n;
    assert.equal(await writer.write([{ symbol: "BTCUSDT", epoch: e1, updateId: 7n, payload: bytes("reset") }]), 1);
    assert.equal(await writer.write([{ symbol: "BTCUSDT", epoch: e1, updateId: 8n, payload: bytes("next") }]), 1);
    // A late record of the old build, with a higher id, no longer moves state.
    assert.equal(await writer.write([{ symbol: "BTCUSDT", epoch: 0n, updateId: 60_000n, payload: bytes("stale") }]), 0);
    assert.equal(await writer.write([{ symbol: "BTCUSDT", epoch: e1, updateId: 8n, payload: bytes("dup") }]), 0);
    assert.equal(await writer.write([{ symbol: "BTCUSDT", epoch: e1 + 1n, updateId: 1n, payload: bytes("e2") }]), 1);
    assert.equal(await writer.write([{ symbol: "BTCUSDT", epoch: e1, updateId: 9n, payload: bytes("e1-late") }]), 0);
    assert.equal(await r.hget(keys.state, "BTCUSDT"), "e2");
    assert.equal(await r.hget(keys.ids, "BTCUSDT"), "1");
    assert.equal(await r.hget(keys.epochs, "BTCUSDT"), (e1 + 1n).toString());
  } finally {
    r.disconnect();
    await writer.close();
  }
});

test("stored OFI round-trips with its (epoch, id); malformed entries are ignored", async () => {
  const ns = `t${randomUUID().slice(0, 8)}`;
  const keys = redisKeys(ns);
  const writer = new RedisStateWriter(url, ns);
  await writer.connect();
  const r = new Redis(url);
  try {
    const state = JSON.stringify({ prev: [1, 2, 3, 4], times: [1, 2], values: [0.5, -1] });
    await writer.saveOfi(new Map([["BTCUSDT", { epoch: 2n ** 63n, updateId: 2n ** 60n + 3n, state }]]));
    await r.hset(keys.ofi, "ETHUSDT", "{not json", "SOLUSDT", JSON.stringify({ epoch: 1, id: "x", state: {} }));
    const got = await writer.loadOfi(["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]);
    assert.deepEqual([...got.keys()], ["BTCUSDT"]);
    assert.deepEqual(got.get("BTCUSDT"), { epoch: 2n ** 63n, updateId: 2n ** 60n + 3n, state });
  } finally {
    r.disconnect();
    await writer.close();
  }
});
