import assert from "node:assert/strict";
import { test } from "node:test";
import { QuantCoreError, backoffDelayMs, retry, EnvReader } from "../src/index.js";

test("backoff grows exponentially and is capped", () => {
  const opts = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 };
  assert.equal(
    backoffDelayMs(0, opts, () => 0.999999),
    99,
  );
  assert.equal(
    backoffDelayMs(3, opts, () => 0.999999),
    799,
  );
  assert.equal(
    backoffDelayMs(10, opts, () => 0.999999),
    999,
  );
  assert.equal(
    backoffDelayMs(10, opts, () => 0),
    0,
  );
});

test("retry retries retriable errors only", async () => {
  let calls = 0;
  const v = await retry(
    async () => {
      calls++;
      if (calls < 3) throw new QuantCoreError("unavailable", "down");
      return 42;
    },
    { initialDelayMs: 1, maxDelayMs: 2 },
  );
  assert.equal(v, 42);
  assert.equal(calls, 3);
  await assert.rejects(
    retry(async () => {
      throw new QuantCoreError("invalid_argument", "bad");
    }),
    /bad/,
  );
});

test("EnvReader reports every problem at once", () => {
  const r = new EnvReader({ A: "x", B: "99" });
  r.int("A", 1);
  r.int("B", 1, { max: 10 });
  r.string("C");
  assert.throws(
    () => r.done(),
    (e: Error) =>
      /A must be an integer/.test(e.message) && /B must be in/.test(e.message) && /C is required/.test(e.message),
  );
});
