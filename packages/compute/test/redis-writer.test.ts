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
    assert.equal(await writer.write([{ symbol: "BTCUSDT", updateId: 10n, payload: bytes("b10") }]), 1);
    assert.equal(
      await writer.write([
        { symbol: "BTCUSDT", updateId: 9n, payload: bytes("b9") },
        { symbol: "BTCUSDT", updateId: 10n, payload: bytes("b10-again") },
        { symbol: "ETHUSDT", updateId: 5n, payload: bytes("e5") },
      ]),
      1,
    );
    // Ids beyond 2^53 compare exactly (a double would call these equal).
    assert.equal(await writer.write([{ symbol: "XRPUSDT", updateId: 2n ** 60n + 1n, payload: bytes("x1") }]), 1);
    assert.equal(await writer.write([{ symbol: "XRPUSDT", updateId: 2n ** 60n, payload: bytes("x0") }]), 0);
    assert.equal(await writer.write([{ symbol: "BTCUSDT", updateId: 100n, payload: bytes("b100") }]), 1);

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
