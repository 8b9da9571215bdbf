import assert from "node:assert/strict";
import { test } from "node:test";
import {
  QuantCoreError,
  computeHeartbeatSchema,
  controlCommandSchema,
  parseJson,
  s,
  shardHeartbeatSchema,
} from "../src/index.js";

const rejects = (fn: () => unknown, message: RegExp) =>
  assert.throws(
    fn,
    (e: unknown) => e instanceof QuantCoreError && e.kind === "invalid_argument" && message.test(e.message),
  );

const heartbeat = {
  shardId: 1,
  symbols: ["BTCUSDT"],
  connected: true,
  framesPerSecond: 10.5,
  lastFrameAgeMs: -1,
  reconnects: 0,
  resyncs: 0,
  gaps: 0,
  rejectedFrames: 0,
  producerBacklog: 0,
  updatedAtMs: 1_700_000_000_000,
};

test("a shard heartbeat parses; each bad field is named", () => {
  assert.deepEqual(parseJson(shardHeartbeatSchema, JSON.stringify(heartbeat), "hb"), heartbeat);
  // A newer writer may add fields: ignored.
  assert.deepEqual(parseJson(shardHeartbeatSchema, JSON.stringify({ ...heartbeat, extra: 1 }), "hb"), heartbeat);
  rejects(() => parseJson(shardHeartbeatSchema, "{", "hb"), /^hb: not JSON/);
  rejects(() => parseJson(shardHeartbeatSchema, "[]", "hb"), /^hb: expected an object, got array/);
  rejects(
    () => parseJson(shardHeartbeatSchema, JSON.stringify({ ...heartbeat, symbols: ["BTCUSDT", 3] }), "hb"),
    /^hb: symbols\[1\]: expected a string, got number 3/,
  );
  rejects(
    () => parseJson(shardHeartbeatSchema, JSON.stringify({ ...heartbeat, shardId: "1" }), "hb"),
    /shardId: expected a finite number, got a string of 1 characters/,
  );
  const { updatedAtMs: _, ...missing } = heartbeat;
  rejects(() => parseJson(shardHeartbeatSchema, JSON.stringify(missing), "hb"), /updatedAtMs: required field missing/);
});

test("a compute heartbeat parses; partitions must be whole numbers", () => {
  const hb = { instanceId: "c-1", partitions: [0, 1], updatedAtMs: 1, recordsPerSecond: 2, lagRecords: 0 };
  assert.deepEqual(parseJson(computeHeartbeatSchema, JSON.stringify(hb), "c"), hb);
  rejects(
    () => parseJson(computeHeartbeatSchema, JSON.stringify({ ...hb, partitions: [0.5] }), "c"),
    /partitions\[0\]: expected an integer/,
  );
  rejects(() => parseJson(computeHeartbeatSchema, JSON.stringify({ ...hb, instanceId: "" }), "c"), /instanceId/);
});

test("a control command names exactly one target", () => {
  assert.deepEqual(parseJson(controlCommandSchema, '{"type":"resync","symbol":"BTCUSDT"}', "cmd"), {
    type: "resync",
    symbol: "BTCUSDT",
  });
  assert.deepEqual(parseJson(controlCommandSchema, '{"type":"resync","shardId":2}', "cmd"), {
    type: "resync",
    shardId: 2,
  });
  rejects(
    () => parseJson(controlCommandSchema, '{"type":"halt","symbol":"BTCUSDT"}', "cmd"),
    /type: expected "resync"/,
  );
  rejects(() => parseJson(controlCommandSchema, '{"type":"resync"}', "cmd"), /exactly one of symbol and shardId/);
  rejects(
    () => parseJson(controlCommandSchema, '{"type":"resync","symbol":"btc"}', "cmd"),
    /symbol: expected a string matching/,
  );
  rejects(
    () => parseJson(controlCommandSchema, '{"type":"resync","shardId":-1}', "cmd"),
    /shardId: expected a number >= 0/,
  );
});

test("a strict object refuses unknown keys, naming them", () => {
  const schema = s.object({ a: s.optional(s.array(s.string())) }, { strict: true });
  assert.deepEqual(parseJson(schema, "{}", "f"), {});
  rejects(() => parseJson(schema, '{"b":[]}', "f"), /^f: b: unknown field \(expected one of a\)/);
  rejects(() => parseJson(schema, '{"a":"secret"}', "f"), /^f: a: expected an array, got a string of 6 characters/);
});
