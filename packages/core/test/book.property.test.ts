import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BookSync, OrderBook, type DepthDiff, type Level } from "../src/index.js";

/** The naive model: a Map per side, sorted on every read. */
class NaiveBook {
  bids = new Map<number, number>();
  asks = new Map<number, number>();
  apply(bids: Level[], asks: Level[]) {
    for (const [p, q] of bids) {
      if (q === 0) this.bids.delete(p);
      else this.bids.set(p, q);
    }
    for (const [p, q] of asks) {
      if (q === 0) this.asks.delete(p);
      else this.asks.set(p, q);
    }
  }
  top(n: number) {
    const b = [...this.bids].sort((x, y) => y[0] - x[0]).slice(0, n);
    const a = [...this.asks].sort((x, y) => x[0] - y[0]).slice(0, n);
    return { bids: b, asks: a };
  }
}

const level = fc.tuple(
  fc.integer({ min: 1, max: 60 }).map((p) => p / 4),
  fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 1000 }).map((q) => q / 10),
  ),
);

test("OrderBook matches a naive model for any sequence of level updates", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.array(level, { maxLength: 8 }), fc.array(level, { maxLength: 8 })), { maxLength: 60 }),
      (steps) => {
        const book = new OrderBook("X");
        const model = new NaiveBook();
        for (const [b, a] of steps) {
          book.applyLevels(b as Level[], a as Level[]);
          model.apply(b as Level[], a as Level[]);
          for (const n of [1, 5, 20]) assert.deepEqual(book.top(n), model.top(n));
          assert.deepEqual(book.depth(), { bids: model.bids.size, asks: model.asks.size });
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("after a gap nothing is applied until a new snapshot", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 80 }), (skips) => {
      const sync = new BookSync("X");
      let u = 10;
      const mk = (U: number, last: number): DepthDiff => ({
        kind: "depthUpdate",
        stream: "x",
        symbol: "X",
        eventTimeMs: 0,
        firstUpdateId: U,
        finalUpdateId: last,
        bids: [],
        asks: [],
      });
      sync.onDiff(mk(u + 1, u + 2));
      sync.onSnapshot({ lastUpdateId: u + 2, bids: [[1, 1]], asks: [[2, 1]] });
      u += 2;
      let broken = false;
      for (const skip of skips) {
        const r = sync.onDiff(mk(u + 1 + skip, u + 1 + skip));
        u += 1 + skip;
        if (skip > 0 && !broken) {
          assert.equal(r.type, "gap");
          broken = true;
        } else if (broken) assert.equal(r.type, "buffered");
        else assert.equal(r.type, "applied");
      }
    }),
    { numRuns: 300 },
  );
});
