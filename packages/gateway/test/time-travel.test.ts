// The gateway's time-travel logic that needs no service: request validation, batching of
// replayed updates, and the session protocol's entry parser.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { MarketUpdateSchema, encodeMarketUpdate } from "@quantcore/proto";
import { QuantCoreError } from "@quantcore/runtime";
import { parseSessionEntry } from "../src/time-travel/entries.js";
import { distinctSymbolRuns } from "../src/time-travel/handover.js";
import { parseTimeTravel } from "../src/time-travel/request.js";
import { nextStreamId } from "../src/time-travel/sessions.js";

const NOW_US = 1_800_000_000_000_000;

const invalid = (fn: () => unknown, text: RegExp) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConnectError);
    assert.equal(err.code, Code.InvalidArgument);
    assert.match(err.message, text);
    return true;
  });

test("request validation: live, a past start, and the INVALID_ARGUMENT cases", () => {
  assert.equal(parseTimeTravel({ startTimeUs: 0, replaySpeed: 0 }, NOW_US), undefined);
  // The speed is ignored when live.
  assert.equal(parseTimeTravel({ startTimeUs: 0, replaySpeed: -3 }, NOW_US), undefined);
  assert.deepEqual(parseTimeTravel({ startTimeUs: NOW_US - 3_600e6, replaySpeed: 10 }, NOW_US), {
    startTimeUs: NOW_US - 3_600e6,
    replaySpeed: 10,
  });
  // Within a second of "now" is not the future (clocks of hosts differ).
  assert.ok(parseTimeTravel({ startTimeUs: NOW_US + 500_000, replaySpeed: 0 }, NOW_US));
  invalid(() => parseTimeTravel({ startTimeUs: NOW_US + 60e6, replaySpeed: 0 }, NOW_US), /in the future/);
  invalid(() => parseTimeTravel({ startTimeUs: -5, replaySpeed: 0 }, NOW_US), /start_time_us/);
  invalid(() => parseTimeTravel({ startTimeUs: Number.NaN, replaySpeed: 0 }, NOW_US), /start_time_us/);
  invalid(() => parseTimeTravel({ startTimeUs: NOW_US - 1e6, replaySpeed: -1 }, NOW_US), /replay_speed/);
  invalid(() => parseTimeTravel({ startTimeUs: NOW_US - 1e6, replaySpeed: Infinity }, NOW_US), /replay_speed/);
  invalid(() => parseTimeTravel({ startTimeUs: NOW_US - 1e6, replaySpeed: Number.NaN }, NOW_US), /replay_speed/);
});

test("replayed updates are batched in order, each symbol at most once per batch", () => {
  const s = (symbol: string, n: number) => ({ symbol, n });
  const runs = distinctSymbolRuns([s("A", 1), s("B", 2), s("A", 3), s("A", 4), s("C", 5), s("B", 6)]);
  assert.deepEqual(
    runs.map((r) => r.map((x) => x.n)),
    [[1, 2], [3], [4, 5, 6]],
  );
  assert.deepEqual(distinctSymbolRuns([]), []);
});

const fields = (t: string, d?: string | Uint8Array) =>
  [Buffer.from("t"), Buffer.from(t)].concat(d === undefined ? [] : [Buffer.from("d"), Buffer.from(d)]);

test("session protocol: every entry type parses; malformed entries are errors naming the problem", () => {
  assert.deepEqual(parseSessionEntry(fields("accepted", '{"worker":"w"}'), "k"), { type: "accepted" });
  assert.deepEqual(parseSessionEntry(fields("tick", ""), "k"), { type: "tick" });
  const u = create(MarketUpdateSchema, { symbol: "BTCUSDT", updateId: 42n, bookEpoch: 3n });
  const e = parseSessionEntry(fields("update", encodeMarketUpdate(u)), "k");
  // Relayed as the worker's bytes, not decoded.
  assert.ok(e.type === "update" && Buffer.from(encodeMarketUpdate(u)).equals(e.bytes));
  const several = parseSessionEntry(fields("updates", Buffer.from([0x0a, 0x00])), "k");
  assert.ok(several.type === "updates" && several.bytes.equals(Buffer.from([0x0a, 0x00])));
  const r = parseSessionEntry(
    fields("rejected", JSON.stringify({ code: "failed_precondition", message: "too old" })),
    "k",
  );
  assert.deepEqual(r, { type: "rejected", rejected: { code: "failed_precondition", message: "too old" } });
  const end = {
    positions: [{ symbol: "BTCUSDT", epoch: "3", updateId: "42" }],
    replayedUpdates: 7,
    replayedUntilUs: 5,
  };
  assert.deepEqual(parseSessionEntry(fields("end", JSON.stringify(end)), "k"), { type: "end", end });

  const bad = (f: Buffer[], text: RegExp) =>
    assert.throws(
      () => parseSessionEntry(f, "qc:tt:x"),
      (err: unknown) => err instanceof QuantCoreError && text.test(err.message),
    );
  bad(fields("nonsense", "x"), /unknown entry type "nonsense"/);
  bad(fields("update"), /update entry without data/);
  bad(fields("rejected", JSON.stringify({ code: "teapot", message: "x" })), /qc:tt:x: code: expected one of/);
  bad(
    fields("end", JSON.stringify({ ...end, positions: [{ symbol: "BTCUSDT", epoch: "-1", updateId: "1" }] })),
    /positions\[0\]\.epoch/,
  );
  bad(fields("end", "{"), /not JSON/);
});

test("stream ids: the id after one (what XTRIM MINID keeps from)", () => {
  assert.equal(nextStreamId("1700000000000-0"), "1700000000000-1");
  assert.equal(nextStreamId("1700000000000-41"), "1700000000000-42");
});
