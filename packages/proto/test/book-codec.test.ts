import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import {
  BookUpdateKind,
  BookUpdateSchema,
  LevelSchema,
  decodeBookUpdate,
  encodeBookUpdate,
  type BookUpdateFields,
} from "../src/index.js";

const level = fc.record({
  price: fc.double({ min: 1e-8, max: 1e7, noNaN: true }),
  quantity: fc.double({ min: 0, max: 1e9, noNaN: true }),
});
const fields = fc.record({
  symbol: fc.stringMatching(/^[A-Z0-9]{0,20}$/),
  kind: fc.constantFrom(BookUpdateKind.UNSPECIFIED, BookUpdateKind.UPDATE, BookUpdateKind.RESET),
  updateId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  firstUpdateId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  exchangeEventTimeMs: fc.constantFrom(0, 1723161255208),
  ingestReceiveTimeUs: fc.constantFrom(0, 1723161255208123),
  ingestProduceTimeUs: fc.constantFrom(0, 1723161255208456),
  bids: fc.array(level, { maxLength: 25 }),
  asks: fc.array(level, { maxLength: 25 }),
  shardId: fc.integer({ min: 0, max: 1000 }),
  bookEpoch: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
});

const generated = (f: BookUpdateFields) =>
  create(BookUpdateSchema, {
    ...f,
    bids: f.bids.map((l) => create(LevelSchema, l)),
    asks: f.asks.map((l) => create(LevelSchema, l)),
  });

test("the fast codec writes exactly the bytes protobuf-es writes, and reads them back", () => {
  fc.assert(
    fc.property(fields, (f) => {
      const mine = encodeBookUpdate(f);
      assert.deepEqual(Buffer.from(mine), Buffer.from(toBinary(BookUpdateSchema, generated(f))));
      const back = decodeBookUpdate(mine);
      const ref = fromBinary(BookUpdateSchema, mine);
      assert.equal(back.symbol, ref.symbol);
      assert.equal(back.updateId, ref.updateId);
      assert.equal(back.firstUpdateId, ref.firstUpdateId);
      assert.equal(back.kind, ref.kind);
      assert.deepEqual(
        back.bids,
        ref.bids.map((l) => ({ price: l.price, quantity: l.quantity })),
      );
      assert.deepEqual(
        back.asks,
        ref.asks.map((l) => ({ price: l.price, quantity: l.quantity })),
      );
      assert.equal(back.shardId, ref.shardId);
      assert.equal(back.bookEpoch, ref.bookEpoch);
    }),
    { numRuns: 300 },
  );
});

test("malformed bytes throw instead of yielding garbage", () => {
  assert.throws(() => decodeBookUpdate(Uint8Array.from([0x0a, 0x05, 0x41])), RangeError);
  assert.throws(() => decodeBookUpdate(Uint8Array.from([0x18, 0xff])), RangeError);
});
