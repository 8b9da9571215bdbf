// The worker's total records/s budget shared by its time-travel sessions (pure; a fake clock).
import assert from "node:assert/strict";
import { test } from "node:test";
import { RateBudget } from "../src/time-travel/budget.js";

test("sessions together read no faster than the budget, each waiting its turn; idle time is not saved up", () => {
  let now = 1_000;
  const budget = new RateBudget(1_000, () => now); // 100 records = 100 ms
  // Four sessions reserve a chunk each at the same moment: served one after the other.
  assert.deepEqual(
    [1, 2, 3, 4].map(() => budget.reserve(100)),
    [0, 100, 200, 300],
  );
  // Later, the queue has moved on by the time passed.
  now += 250;
  assert.equal(budget.reserve(100), 150);
  // Idle for a long time: the next chunk goes at once, but no burst of saved-up credit follows.
  now += 10_000;
  assert.equal(budget.reserve(100), 0);
  assert.equal(budget.reserve(100), 100);
  // Over a long run the rate is the budget's: 40 chunks of 100 take 4 s.
  now += 10_000;
  let lastWait = 0;
  for (let i = 0; i < 40; i++) lastWait = budget.reserve(100);
  assert.equal(lastWait, 3_900);
  assert.throws(() => new RateBudget(0), /recordsPerSecond must be > 0/);
});
