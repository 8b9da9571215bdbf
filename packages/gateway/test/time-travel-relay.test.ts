// Replayed updates relayed as bytes (relay.ts): the send time stamped without decoding, and the
// frames and responses byte-identical to what protobuf-es makes of the same messages.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  HopTimestampsSchema,
  MarketUpdateBatchSchema,
  MarketUpdateSchema,
  StreamMarketUpdatesResponseSchema,
  encodeMarketUpdate,
  type MarketUpdate,
} from "@quantcore/proto";
import { QuantCoreError } from "@quantcore/runtime";
import {
  replayFrames,
  replayMessages,
  replayResponses,
  splitUpdates,
  stampReplayed,
} from "../src/time-travel/relay.js";

const SEND_US = 1_800_000_000_123_456;

const update = (symbol: string, id: bigint, timestamps: Record<string, number> | undefined, epoch = 7n) =>
  create(MarketUpdateSchema, {
    symbol,
    updateId: id,
    bookEpoch: epoch,
    signals: { obi1: 0.25, midPrice: 101.5, ofi1s: -3 },
    ...(timestamps ? { timestamps } : {}),
  });

/** The update as the client should see it: stamped with the gateway's send time. */
const withSend = (u: MarketUpdate) => {
  const c = fromBinary(MarketUpdateSchema, encodeMarketUpdate(u));
  c.timestamps ??= create(HopTimestampsSchema);
  c.timestamps.gatewaySendUs = SEND_US;
  return c;
};

const hops = { ingestReceiveUs: 1_700_000_000_000_001, computeReceiveUs: 1_700_000_000_000_900 };

test("the send time is stamped in the bytes: overwritten in place, inserted, or appended with the timestamps", () => {
  const cases: [string, MarketUpdate][] = [
    ["placeholder overwritten", update("BTCUSDT", 11n, { ...hops, gatewaySendUs: 5 })],
    ["inserted into timestamps", update("ETHUSDT", 1n << 40n, hops, 1n << 35n)],
    ["no timestamps", update("SOLUSDT", 3n, undefined)],
  ];
  for (const [name, u] of cases) {
    const bytes = Buffer.from(encodeMarketUpdate(u));
    const r = stampReplayed(bytes, SEND_US, "k");
    assert.equal(r.symbol, u.symbol, name);
    const expected = withSend(u);
    assert.deepEqual(fromBinary(MarketUpdateSchema, r.bytes), expected, name);
    // The bytes are the hand-written encoder's (and so protobuf-es's) for the stamped update.
    assert.ok(Buffer.from(encodeMarketUpdate(expected)).equals(Buffer.from(r.bytes)) || name === "no timestamps", name);
  }
  // In place: no copy when the worker wrote the placeholder.
  const bytes = Buffer.from(encodeMarketUpdate(cases[0]![1]));
  assert.equal(stampReplayed(bytes, SEND_US, "k").bytes, bytes);
});

test("an update that does not parse is an internal error naming the stream", () => {
  const bad = (b: Buffer, text: RegExp) =>
    assert.throws(
      () => stampReplayed(b, SEND_US, "qc:tt:x"),
      (err: unknown) => err instanceof QuantCoreError && err.kind === "internal" && text.test(err.message),
    );
  const good = Buffer.from(encodeMarketUpdate(update("BTCUSDT", 1n, hops)));
  bad(good.subarray(0, good.length - 3), /qc:tt:x: update entry does not parse/);
  bad(Buffer.from([0x10, 0x05]), /no symbol/);
  bad(Buffer.from([0x0f, 0x00]), /wire type/);
});

const stamped = (us: MarketUpdate[]) => us.map((u) => stampReplayed(Buffer.from(encodeMarketUpdate(u)), SEND_US, "k"));

/** protobuf-es's own response for one message of updates (one = `update`, more = `batch`). */
const expectedResponse = (us: MarketUpdate[]) => {
  const decoded = us.map((u) => withSend(u));
  return create(StreamMarketUpdatesResponseSchema, {
    event:
      decoded.length === 1
        ? { case: "update", value: decoded[0]! }
        : { case: "batch", value: create(MarketUpdateBatchSchema, { updates: decoded }) },
  });
};

const envelope = (b: Uint8Array) => {
  const out = Buffer.alloc(5 + b.length);
  out.writeUInt32BE(b.length, 1);
  out.set(b, 5);
  return out;
};

test("frames: every message enveloped back to back, byte-identical to protobuf-es; batches hold distinct symbols", () => {
  const a1 = update("BTCUSDT", 1n, hops);
  const b1 = update("ETHUSDT", 1n, hops);
  const a2 = update("BTCUSDT", 2n, { ...hops, gatewaySendUs: 1 });
  const big = update("SOLUSDT", 9n, { ...hops, exchangeEventUs: 1_700_000_000_000_000 });
  const all = [a1, b1, a2, big];
  for (const allowBatches of [true, false]) {
    const groups = allowBatches
      ? [
          [a1, b1],
          [a2, big],
        ]
      : all.map((u) => [u]);
    const messages = replayMessages(stamped(all), allowBatches);
    assert.deepEqual(
      messages.map((m) => m.map((u) => u.symbol)),
      groups.map((g) => g.map((u) => u.symbol)),
    );
    const expected = Buffer.concat(
      groups.map((g) => envelope(toBinary(StreamMarketUpdatesResponseSchema, expectedResponse(g)))),
    );
    assert.ok(replayFrames(messages).equals(expected), `allowBatches ${allowBatches}`);
    // Through connect: binary responses carry the same bytes; JSON ones are the decoded messages.
    const binary = replayResponses(messages, true).map((r) => toBinary(StreamMarketUpdatesResponseSchema, r));
    assert.ok(Buffer.concat(binary.map(envelope)).equals(expected));
    assert.deepEqual(replayResponses(messages, false), groups.map(expectedResponse));
  }
  // A batch past 127 bytes (multi-byte lengths) and many updates.
  const many = Array.from({ length: 30 }, (_, i) => update(`S${i}USDT`, BigInt(i + 1), hops));
  const frames = replayFrames(replayMessages(stamped(many), true));
  assert.ok(frames.equals(envelope(toBinary(StreamMarketUpdatesResponseSchema, expectedResponse(many)))));
});

test("an `updates` entry (a MarketUpdateBatch's bytes) splits into its updates' bytes, in order; malformed is internal", () => {
  // The first with the worker's placeholder send time (stamped in place), the others without.
  const us = [
    update("BTCUSDT", 1n, { ...hops, gatewaySendUs: 5 }),
    update("BTCUSDT", 2n, hops),
    update("ETHUSDT", 1n, undefined),
  ];
  const batch = Buffer.from(toBinary(MarketUpdateBatchSchema, create(MarketUpdateBatchSchema, { updates: us })));
  const parts = splitUpdates(batch, "k");
  assert.deepEqual(
    parts.map((p) => Buffer.from(p).toString("hex")),
    us.map((u) => Buffer.from(encodeMarketUpdate(u)).toString("hex")),
  );
  // Views of the entry: stamping one in place leaves its neighbours intact.
  assert.equal(stampReplayed(parts[0]!, SEND_US, "k").bytes, parts[0]);
  assert.deepEqual(fromBinary(MarketUpdateSchema, parts[1]!), us[1]);
  assert.equal(fromBinary(MarketUpdateSchema, parts[0]!).timestamps?.gatewaySendUs, SEND_US);
  assert.deepEqual(splitUpdates(Buffer.alloc(0), "k"), []);
  for (const bad of [batch.subarray(0, batch.length - 2), Buffer.from([0x12, 0x00])])
    assert.throws(
      () => splitUpdates(bad, "qc:tt:x"),
      (err: unknown) => err instanceof QuantCoreError && /qc:tt:x: updates entry does not parse/.test(err.message),
    );
});
