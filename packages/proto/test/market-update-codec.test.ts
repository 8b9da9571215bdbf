import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { HopTimestampsSchema, MarketUpdateSchema, SignalsSchema, encodeMarketUpdate } from "../src/index.js";

const dbl = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 0.1, 90_000.15, 1.7e15, Number.MAX_VALUE, Infinity, -Infinity),
  fc.double({ noNaN: true }),
);
const optionalDbl = fc.option(dbl, { nil: undefined });
const signals = fc.record({
  obi1: optionalDbl,
  obi5: optionalDbl,
  obi10: optionalDbl,
  obi20: optionalDbl,
  bestBidPrice: optionalDbl,
  bestBidQuantity: optionalDbl,
  bestAskPrice: optionalDbl,
  bestAskQuantity: optionalDbl,
  midPrice: optionalDbl,
  spreadBps: optionalDbl,
  microprice: optionalDbl,
  weightedObi: optionalDbl,
  ofi1s: optionalDbl,
  ofi10s: optionalDbl,
});
const hops = fc.record({
  exchangeEventUs: dbl,
  ingestReceiveUs: dbl,
  ingestProduceUs: dbl,
  computeReceiveUs: dbl,
  computePublishUs: dbl,
  gatewaySendUs: dbl,
});
const update = fc.record({
  symbol: fc.oneof(fc.stringMatching(/^[A-Z0-9]{0,20}$/), fc.string()),
  updateId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  bookEpoch: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  snapshot: fc.boolean(),
  late: fc.boolean(),
  signals: fc.option(signals, { nil: undefined }),
  timestamps: fc.option(hops, { nil: undefined }),
});

test("the fast MarketUpdate encoder writes exactly the bytes protobuf-es writes", () => {
  fc.assert(
    fc.property(update, (f) => {
      const u = create(MarketUpdateSchema, {
        ...f,
        signals: f.signals && create(SignalsSchema, f.signals),
        timestamps: f.timestamps && create(HopTimestampsSchema, f.timestamps),
      });
      const mine = encodeMarketUpdate(u);
      assert.deepEqual(Buffer.from(mine), Buffer.from(toBinary(MarketUpdateSchema, u)));
      assert.equal(fromBinary(MarketUpdateSchema, mine).updateId, u.updateId);
    }),
    { numRuns: 500 },
  );
});
