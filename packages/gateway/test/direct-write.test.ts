// The fan-out's direct writes (writeLive): every frame a stream gets in one flush goes out in ONE
// write to its transport (one syscall on an HTTP/1.1 socket), shared by the streams of a subscription.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import { MarketUpdateSchema, StreamMarketUpdatesResponseSchema } from "@quantcore/proto";
import { writeLive, type DirectSink, type TickFrames } from "../src/direct-drain.js";
import { SharedUpdate, type SharedFrame } from "../src/encoding.js";

const shared = (symbol: string, id: number) =>
  new SharedUpdate(create(MarketUpdateSchema, { symbol, updateId: BigInt(id) }));

/** A transport that records what was written, and says it is full after `room` writes. */
function fakeSink(room = Infinity): DirectSink & { writes: SharedFrame[] } {
  const writes: SharedFrame[] = [];
  return {
    writes,
    ready: () => true,
    open: () => true,
    write: (f) => writes.push(f) <= room,
    drained: async () => {},
  };
}

/** The messages in an enveloped body: [case, symbols]. */
function messages(bytes: Uint8Array): [string | undefined, string[]][] {
  const out: [string | undefined, string[]][] = [];
  const buf = Buffer.from(bytes);
  for (let at = 0; at < buf.length;) {
    const len = buf.readUInt32BE(at + 1);
    const m = fromBinary(StreamMarketUpdatesResponseSchema, buf.subarray(at + 5, at + 5 + len));
    const ev = m.event;
    out.push([
      ev.case,
      ev.case === "update" ? [ev.value.symbol] : ev.case === "batch" ? ev.value.updates.map((u) => u.symbol) : [],
    ]);
    at += 5 + len;
  }
  return out;
}

test("batches off: the updates of one flush go out as consecutive messages in one write, shared by the subscription's streams", () => {
  const updates = ["BTCUSDT", "ETHUSDT", "SOLUSDT"].map((s, i) => shared(s, i + 1));
  const frames: TickFrames = {};
  const a = fakeSink();
  const b = fakeSink();
  assert.equal(writeLive(a, updates, updates, false, frames), 3);
  assert.equal(writeLive(b, updates, updates, false, frames), 3);
  assert.equal(a.writes.length, 1, "one write");
  assert.equal(b.writes[0], a.writes[0], "the same frame for both streams");
  assert.deepEqual(messages(a.writes[0]!.bytes), [
    ["update", ["BTCUSDT"]],
    ["update", ["ETHUSDT"]],
    ["update", ["SOLUSDT"]],
  ]);
  // HTTP/1.1: the run is one chunk.
  const chunk = a.writes[0]!.httpChunk().toString("latin1");
  assert.ok(chunk.startsWith(`${a.writes[0]!.bytes.length.toString(16)}\r\n`) && chunk.endsWith("\r\n"));
});

test("batches on: one batch message in one write; a stream that dropped some gets its own frame", () => {
  const updates = ["BTCUSDT", "ETHUSDT", "SOLUSDT"].map((s, i) => shared(s, i + 1));
  const frames: TickFrames = {};
  const a = fakeSink();
  const b = fakeSink();
  assert.equal(writeLive(a, updates, updates, true, frames), 1);
  assert.deepEqual(messages(a.writes[0]!.bytes), [["batch", ["BTCUSDT", "ETHUSDT", "SOLUSDT"]]]);
  const fresh = updates.slice(1);
  assert.equal(writeLive(b, fresh, updates, true, frames), 1);
  assert.notEqual(b.writes[0], a.writes[0]);
  assert.deepEqual(messages(b.writes[0]!.bytes), [["batch", ["ETHUSDT", "SOLUSDT"]]]);
  assert.equal(frames.batch, a.writes[0], "only the full list is shared");
});

test("a full transport: the count comes back negated, so the stream stops writing directly", () => {
  const updates = [shared("BTCUSDT", 1), shared("ETHUSDT", 2)];
  assert.equal(writeLive(fakeSink(0), updates, updates, false, {}), -2);
  assert.equal(writeLive(fakeSink(0), updates.slice(0, 1), updates, true, {}), -1);
});
