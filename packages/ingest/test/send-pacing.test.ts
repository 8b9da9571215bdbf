import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_PRODUCER_OPTIONS } from "../src/producer-options.js";
import { SendPacing } from "../src/send-pacing.js";

const opts = { minSendIntervalMs: 1, loadedSendIntervalMs: 10, loadedAboveRecordsPerSecond: 2_000 };

/** `perSecond` arrivals spread over [fromMs, fromMs + 1000). */
function feed(p: SendPacing, fromMs: number, perSecond: number): void {
  for (let i = 0; i < perSecond; i++) p.arrived(fromMs + (i * 1000) / perSecond);
}

test("send pacing: requests go at the minimum interval below the loaded rate, further apart at or above it", () => {
  const p = new SendPacing(opts);
  assert.equal(p.intervalMs(0), 1, "nothing seen yet");
  feed(p, 0, 1_000); // the demo's whole universe is ~300/s: far below
  assert.equal(p.intervalMs(1_000), 1);
  feed(p, 1_000, 3_000);
  assert.equal(p.ratePerSecond(2_000), 3_000);
  assert.equal(p.intervalMs(2_000), 10, "a second at 3,000 records/s");
  feed(p, 2_000, 1_999);
  assert.equal(p.intervalMs(3_000), 1, "just below the threshold");
});

test("send pacing: a silent second brings the minimum interval back at once", () => {
  const p = new SendPacing(opts);
  p.arrived(0);
  feed(p, 1_000, 5_000);
  assert.equal(p.intervalMs(2_000), 10);
  // Nothing for 2.5 s: the last full window says nothing of now.
  assert.equal(p.intervalMs(4_500), 1);
  p.arrived(4_600);
  assert.equal(p.intervalMs(4_700), 1);
});

test("send pacing: the producer's defaults keep low loads unpaced", () => {
  const p = new SendPacing(DEFAULT_PRODUCER_OPTIONS);
  p.arrived(0);
  feed(p, 1_000, 1_000); // one shard of the load bench's 3,000/s point
  assert.equal(p.intervalMs(2_000), DEFAULT_PRODUCER_OPTIONS.minSendIntervalMs);
  assert.ok(DEFAULT_PRODUCER_OPTIONS.loadedSendIntervalMs > DEFAULT_PRODUCER_OPTIONS.minSendIntervalMs);
});
