import assert from "node:assert/strict";
import { test } from "node:test";
import { RollingWindowLimit } from "../src/limits.js";

test("rolling window: no burst beyond the limit, and a slot frees exactly when the oldest attempt ages out", () => {
  let now = 1_000_000;
  const lim = new RollingWindowLimit(3, 300_000, () => now);
  for (let i = 0; i < 3; i++) {
    assert.equal(lim.delayMs(), 0);
    lim.take();
    now += 1_000;
  }
  // Attempts at t0, t0+1s, t0+2s; now = t0+3s: the next fits when the first leaves the window.
  assert.equal(lim.delayMs(), 297_000);
  now += 297_000;
  assert.equal(lim.delayMs(), 0);
  lim.take();
  assert.equal(lim.delayMs(), 1_000);
});
