import assert from "node:assert/strict";
import { test } from "node:test";
import { Partitioners } from "kafkajs";
import { TOP30_USDT, partitionFor, shardSymbols } from "../src/index.js";

test("the explicit map gives each of the top 30 symbols its own partition", () => {
  const parts = new Set(TOP30_USDT.map((s) => partitionFor(s, TOP30_USDT, 30)));
  assert.equal(parts.size, 30);
});

test("plain key hashing would crowd the top 30 onto fewer partitions", () => {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: 30 }, (_, i) => ({
    partitionId: i,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));
  const parts = new Set(
    TOP30_USDT.map((s) => partitioner({ topic: "order_book", partitionMetadata, message: { key: s, value: null } })),
  );
  assert.ok(parts.size < 30, `hashing used ${parts.size} partitions`);
});

test("shards take ceil-sized contiguous slices covering the universe exactly once", () => {
  const slices = Array.from({ length: 10 }, (_, i) => shardSymbols(TOP30_USDT, i, 10));
  assert.deepEqual(slices.flat(), [...TOP30_USDT]);
  assert.deepEqual(
    Array.from({ length: 4 }, (_, i) => shardSymbols(TOP30_USDT, i, 4).length),
    [8, 8, 8, 6],
  );
  assert.throws(() => shardSymbols(TOP30_USDT, 3, 3), RangeError);
});

test("symbols outside the universe still get a stable partition", () => {
  const p = partitionFor("NEWUSDT", TOP30_USDT, 30);
  assert.equal(p, partitionFor("NEWUSDT", TOP30_USDT, 30));
  assert.ok(p >= 0 && p < 30);
});

test("the universe is 30 distinct symbols, and bad universe files get a clear error", async () => {
  const { parseUniverse } = await import("../src/index.js");
  assert.deepEqual(parseUniverse(JSON.stringify({ symbols: TOP30_USDT })), [...TOP30_USDT]);
  assert.equal(TOP30_USDT.length, 30);
  assert.deepEqual(parseUniverse('["BTCUSDT","ETHUSDT"]'), ["BTCUSDT", "ETHUSDT"]);
  assert.throws(() => parseUniverse("{"), /not JSON/);
  assert.throws(() => parseUniverse("[]"), /non-empty array/);
  assert.throws(() => parseUniverse('["btcusdt"]'), /not an uppercase Binance symbol/);
  assert.throws(() => parseUniverse('["BTCUSDT","BTCUSDT"]'), /listed twice/);
});
