// The time-travel request contract (gateway -> replay worker), parsed with its schema.
import assert from "node:assert/strict";
import { test } from "node:test";
import { QuantCoreError, parseJson, timeTravelKeys, timeTravelRequestSchema } from "../src/index.js";

const ok = { session: "abc123", symbols: ["BTCUSDT"], startTimeUs: 1.8e15, replaySpeed: 0, requestedAtMs: 1 };

test("a time-travel request parses; every bad field is named", () => {
  assert.deepEqual(parseJson(timeTravelRequestSchema, JSON.stringify(ok), "qc:tt-requests"), ok);
  const bad = (v: object, field: string) =>
    assert.throws(
      () => parseJson(timeTravelRequestSchema, JSON.stringify({ ...ok, ...v }), "qc:tt-requests"),
      (err: unknown) => err instanceof QuantCoreError && err.message.startsWith(`qc:tt-requests: ${field}`),
    );
  bad({ session: "../etc" }, "session");
  bad({ symbols: ["btc usdt"] }, "symbols[0]");
  bad({ startTimeUs: 0 }, "startTimeUs");
  bad({ replaySpeed: -1 }, "replaySpeed");
  bad({ requestedAtMs: "now" }, "requestedAtMs");
});

test("session keys live in the namespace", () => {
  const k = timeTravelKeys("qc");
  assert.equal(k.requests, "qc:tt-requests");
  assert.equal(k.stream("s1"), "qc:tt:s1");
  assert.equal(k.alive("s1"), "qc:tt:s1:alive");
});
