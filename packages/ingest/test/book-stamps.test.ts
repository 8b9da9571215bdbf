import assert from "node:assert/strict";
import { test } from "node:test";
import { BookStamps } from "../src/book-stamps.js";

test("book epoch: wall-clock ms at each rebuild, raised to previous + 1 when the clock stands still or goes back; per symbol", () => {
  // [step, symbol, clock ms, expected epoch] for newEpoch; "epoch" steps read the current one.
  const vectors: Array<["new" | "epoch", string, number, number]> = [
    ["epoch", "BTCUSDT", 1_000, 0],
    ["new", "BTCUSDT", 1_000.7, 1_000],
    ["epoch", "BTCUSDT", 5_000, 1_000],
    ["new", "BTCUSDT", 1_000, 1_001],
    ["new", "BTCUSDT", 1_000, 1_002],
    ["new", "BTCUSDT", 900, 1_003], // the clock stepped back
    ["new", "ETHUSDT", 900, 900], // another symbol has its own
    ["new", "BTCUSDT", 2_000, 2_000],
    ["epoch", "BTCUSDT", 9_000, 2_000],
    ["epoch", "ETHUSDT", 9_000, 900],
  ];
  let now = 0;
  const stamps = new BookStamps(() => now);
  for (const [step, symbol, clock, want] of vectors) {
    now = clock;
    const got = step === "new" ? stamps.newEpoch(symbol) : stamps.epoch(symbol);
    assert.equal(got, want, `${step} ${symbol} at ${clock}`);
  }
});

test("RESET event time: latest E folded; else latest E received for the symbol (buffered and dropped count); else 0", () => {
  const vectors: Array<{ seen: Array<[string, number]>; symbol: string; folded: number[]; want: number }> = [
    // nothing ever received
    { seen: [], symbol: "BTCUSDT", folded: [], want: 0 },
    // folded diffs: the latest of them, not the first or last in order
    { seen: [["BTCUSDT", 100]], symbol: "BTCUSDT", folded: [110, 130, 120], want: 130 },
    // folded none (every buffered diff was covered by the snapshot): the latest received
    {
      seen: [
        ["BTCUSDT", 100],
        ["BTCUSDT", 140],
        ["BTCUSDT", 120],
      ],
      symbol: "BTCUSDT",
      folded: [],
      want: 140,
    },
    // another symbol's events do not count
    { seen: [["ETHUSDT", 500]], symbol: "BTCUSDT", folded: [], want: 0 },
    // received ones do not override what was folded
    { seen: [["BTCUSDT", 999]], symbol: "BTCUSDT", folded: [200], want: 200 },
  ];
  for (const [i, v] of vectors.entries()) {
    const stamps = new BookStamps(() => 0);
    for (const [s, e] of v.seen) stamps.sawEvent(s, e);
    const got = stamps.resetEventTimeMs(
      v.symbol,
      v.folded.map((eventTimeMs) => ({ eventTimeMs })),
    );
    assert.equal(got, v.want, `vector ${i}`);
  }
});
