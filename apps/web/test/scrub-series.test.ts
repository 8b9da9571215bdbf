import assert from "node:assert/strict";
import { test } from "node:test";
import { ScrubSeries } from "../src/lib/scrub-series";

const T0 = 1_700_000_000_000;

test("scrub series: the last value per bucket, values at a scrubbed time, history and live apart", () => {
  const s = new ScrubSeries(T0, 60_000, 100); // bucket = 1,200 ms
  assert.equal(s.bucketMs, 1_200);
  s.add(T0 + 100, [0.1, 0.2, 100], false);
  s.add(T0 + 900, [0.3, undefined, 101], false); // same bucket: OBI 5 keeps 0.2
  s.add(T0 + 5_000, [-0.5, -0.4, 99], false);
  s.add(T0 + 5_100, [0.9, 0.8, 98], true); // same bucket, but live: its own point
  assert.equal(s.size, 3);
  assert.deepEqual(s.points("obi20"), [
    { t: T0 + 900, v: 0.3 },
    { t: T0 + 5_000, v: -0.5 },
    { t: T0 + 5_100, v: 0.9 },
  ]);
  assert.deepEqual(s.points("obi5", "history"), [
    { t: T0 + 900, v: 0.2 },
    { t: T0 + 5_000, v: -0.4 },
  ]);
  assert.deepEqual(s.at(T0 + 4_999), { t: T0 + 900, values: [0.3, 0.2, 101], live: false });
  assert.deepEqual(s.at(T0 + 5_050)?.live, false);
  assert.deepEqual(s.at(T0 + 99_999)?.live, true);
  assert.equal(s.at(T0)?.t, T0 + 900, "before the first point: the first point");
  assert.deepEqual(s.edges(), { lastHistoryMs: T0 + 5_000, firstLiveMs: T0 + 5_100 });
  assert.deepEqual([s.historyUpdates, s.liveUpdates], [3, 1]);
});

test("scrub series: bounded however long it runs (buckets double, later values kept), never back in time", () => {
  const s = new ScrubSeries(T0, 60_000, 50);
  let prevBucket = s.bucketMs;
  // An hour of history at 100 updates/s, then an hour live: 720,000 updates into 50 points.
  for (let i = 0; i < 720_000; i++) {
    const t = T0 + i * 10;
    s.add(t, [Math.sin(i / 1000), 0, i], i >= 360_000);
    assert.ok(s.size <= 50);
    if (s.bucketMs !== prevBucket) {
      assert.equal(s.bucketMs, prevBucket * 2);
      prevBucket = s.bucketMs;
    }
  }
  const pts = s.points("mid");
  assert.ok(pts.length >= 20, `${pts.length} points kept`);
  for (let i = 1; i < pts.length; i++) assert.ok(pts[i]!.t > pts[i - 1]!.t, "times increase");
  assert.equal(pts.at(-1)!.v, 719_999, "the newest value is the last point's");
  const { lastHistoryMs, firstLiveMs } = s.edges();
  assert.equal(lastHistoryMs, T0 + 359_999 * 10, "the last history update stays the history's last point");
  assert.ok(firstLiveMs! > lastHistoryMs!);
  // A time earlier than the last point joins it.
  s.add(T0, [1, 1, -1], true);
  assert.equal(s.points("mid").at(-1)!.v, -1);
  assert.equal(s.points("mid").at(-1)!.t, pts.at(-1)!.t);
});
