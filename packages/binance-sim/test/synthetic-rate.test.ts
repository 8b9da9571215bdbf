// The synthetic feed offers its stated rate even when its timer fires late (a busy host).
import assert from "node:assert/strict";
import { test } from "node:test";
import { sleep } from "@quantcore/runtime";
import { startBinanceSim } from "../src/index.js";

test("synthetic diffs keep their rate per second when the tick timer fires late", async () => {
  const rate = 200;
  const sim = await startBinanceSim({
    syntheticSymbols: ["BTCUSDT"],
    syntheticUpdatesPerSecond: rate,
    syntheticTickMs: 10,
  });
  // A busy event loop: 20 ms of synchronous work every 10 ms delays every tick of the simulator's timer.
  const busy = setInterval(() => {
    const end = performance.now() + 20;
    while (performance.now() < end);
  }, 10);
  try {
    const start = sim.stats().depthEvents;
    const t0 = performance.now();
    await sleep(3000);
    const measured = (sim.stats().depthEvents - start) / ((performance.now() - t0) / 1000);
    assert.ok(measured >= rate * 0.9 && measured <= rate * 1.1, `${measured.toFixed(1)} diffs/s, stated ${rate}`);
  } finally {
    clearInterval(busy);
    await sim.close();
  }
});
