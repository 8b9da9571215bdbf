import assert from "node:assert/strict";
import { test } from "node:test";
import { LatencyWindow, Ring, SecondHistory, SERIES } from "../src/lib/history";

const row = (obi20: number) => SERIES.map((s) => (s === "obi20" ? obi20 : undefined));

test("second history keeps the last value per second and forgets seconds older than its length", () => {
  const h = new SecondHistory(60);
  h.write(1000, row(0.1));
  h.write(1000, row(0.2));
  h.write(1001, row(-0.3));
  assert.equal(h.at(1000, "obi20"), 0.2);
  assert.equal(h.at(1001, "obi20"), -0.3);
  assert.ok(Number.isNaN(h.at(1002, "obi20")));
  h.write(1060, row(0.5)); // same slot as 1000
  assert.ok(Number.isNaN(h.at(1000, "obi20")));
  assert.deepEqual(
    h.points(1060, "obi20").map((p) => p.v),
    [-0.3, 0.5],
  );
});

test("latency window percentiles within 1% over the last 60 s only", () => {
  const w = new LatencyWindow(60);
  for (let i = 1; i <= 100; i++) w.record(10_000, i); // 1..100 ms in second 10
  const p = w.percentiles(10_500)!;
  assert.equal(p.count, 100);
  assert.ok(Math.abs(p.p50 - 50) / 50 < 0.02, `p50 ${p.p50}`);
  assert.ok(Math.abs(p.p99 - 99) / 99 < 0.02, `p99 ${p.p99}`);
  assert.equal(w.percentiles(10_000 + 60_000), undefined, "aged out");
});

test("ring keeps the newest items in order", () => {
  const r = new Ring<number>(3);
  for (let i = 1; i <= 5; i++) r.push(i);
  assert.deepEqual(r.toArray(), [3, 4, 5]);
  assert.equal(r.last(), 5);
});
