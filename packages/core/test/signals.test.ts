import assert from "node:assert/strict";
import { test } from "node:test";
import { OfiTracker, computeSignals, type BookSignals, type Level, type SignalOptions } from "../src/index.js";
import { readVector } from "./vectors.js";

interface SignalCase {
  name: string;
  bids: Level[];
  asks: Level[];
  options: Partial<SignalOptions>;
  expected: Record<keyof BookSignals, number | null>;
}

test("hand-computed signal vectors", () => {
  const { cases } = readVector<{ cases: SignalCase[] }>("signals.json");
  for (const c of cases) {
    const got = computeSignals(c.bids, c.asks, c.options);
    for (const [field, want] of Object.entries(c.expected)) {
      const v = got[field as keyof BookSignals];
      if (want === null) assert.equal(v, undefined, `${c.name}: ${field} should have no value, got ${v}`);
      else {
        assert.ok(v !== undefined, `${c.name}: ${field} missing`);
        assert.ok(Math.abs(v - want) <= 1e-12, `${c.name}: ${field} = ${v}, want ${want}`);
      }
    }
    for (const v of Object.values(got)) assert.ok(v === undefined || Number.isFinite(v), `${c.name}: non-finite ${v}`);
  }
});

test("OFI vectors (Cont, Kukanov, Stoikov 2014)", () => {
  const v = readVector<{
    windowsMs: number[];
    steps: { timeMs: number; top: [number, number, number, number]; expected: number[] }[];
  }>("ofi.json");
  const t = new OfiTracker({ windowsMs: v.windowsMs });
  for (const s of v.steps) assert.deepEqual(t.update(s.timeMs, ...s.top), s.expected, `t=${s.timeMs}`);
  t.reset();
  assert.deepEqual(t.update(10_000, 1, 1, 2, 1), [0, 0], "first event after reset contributes 0");
});

test("OFI memory stays bounded over a long run", () => {
  const t = new OfiTracker({ windowsMs: [1000] });
  for (let i = 0; i < 200_000; i++) t.update(i, 100 + (i % 3), 1, 103, 1);
  // @ts-expect-error reading a private field to check the bound
  assert.ok((t.times as number[]).length < 5_000);
});

test("OFI state stays bounded whatever the time order (one event far in the future, then the past)", () => {
  const t = new OfiTracker({ windowsMs: [1000, 10_000], maxEvents: 500 });
  const recorded = 1_723_161_255_208; // exchange time of a 2024 recording
  t.update(recorded, 100, 1, 101, 1);
  t.update(Date.now() + 365 * 86_400_000, 100, 2, 101, 1); // a wall clock years ahead
  for (let i = 0; i < 50_000; i++) t.update(recorded + i, 100 + (i % 3), 1, 103, 1);
  assert.ok(t.snapshot().times.length <= 500, `kept ${t.snapshot().times.length} events`);
  const times = t.snapshot().times;
  for (let i = 1; i < times.length; i++) assert.ok(times[i - 1]! <= times[i]!, "times never run backwards");
});

test("a restored state with times out of order keeps only its newest ordered run", () => {
  const t = new OfiTracker({ windowsMs: [1000] });
  t.restore({ prev: [1, 1, 2, 1], times: [5, 9_999_999, 6, 7, 8], values: [1, 1, 1, 1, 1] });
  assert.deepEqual(t.snapshot().times, [6, 7, 8]);
  assert.deepEqual(t.update(8.5, 1, 1, 2, 1), [3]);
});

test("an OFI tracker restored from a snapshot continues exactly like the original", () => {
  const a = new OfiTracker();
  const steps: [number, number, number, number, number][] = [];
  for (let i = 0; i < 300; i++) steps.push([i * 97, 100 + (i % 7), 1 + (i % 5), 101 + (i % 7), 2 + (i % 3)]);
  for (const s of steps.slice(0, 150)) a.update(...s);
  const b = new OfiTracker();
  b.restore(JSON.parse(JSON.stringify(a.snapshot())));
  for (const s of steps.slice(150)) assert.deepEqual(b.update(...s), a.update(...s));
});

test("signals on books rebuilt from recorded frames match an independent Python computation", () => {
  const { cases } = readVector<{
    cases: { updateId: number; bids: Level[]; asks: Level[]; expected: Record<string, number> }[];
  }>("recorded_signals.json");
  assert.ok(cases.length >= 5);
  for (const c of cases) {
    const got = computeSignals(c.bids, c.asks) as Record<string, number | undefined>;
    for (const [k, want] of Object.entries(c.expected)) {
      const v = got[k];
      assert.ok(
        v !== undefined && Math.abs(v - want) <= 1e-9 * Math.max(1, Math.abs(want)),
        `@${c.updateId} ${k}: ${v} vs ${want}`,
      );
    }
  }
});

test("summing OFI only for the updates published gives the same bits as summing after every event", () => {
  // A seeded walk over a busy top of book: prices move by ticks, times jump 0-40 ms (sometimes back).
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const eager = new OfiTracker({ windowsMs: [1000, 10_000], maxEvents: 2000 });
  const lazy = new OfiTracker({ windowsMs: [1000, 10_000], maxEvents: 2000 });
  let t = 1_700_000_000_000;
  let bid = 100;
  for (let i = 0; i < 20_000; i++) {
    t += rnd() < 0.05 ? -5 : Math.floor(rnd() * 40);
    bid += rnd() < 0.5 ? -0.01 : 0.01;
    const ev = [t, bid, rnd() * 3, bid + 0.01, rnd() * 3] as const;
    const expected = eager.update(...ev);
    lazy.record(...ev);
    // The lazy tracker is summed only now and then (as compute sums only the newest of a write).
    if (rnd() < 0.1) assert.deepEqual(lazy.windowSums(), expected, `event ${i}`);
  }
  assert.deepEqual(lazy.windowSums(), eager.windowSums());
  assert.deepEqual(new OfiTracker().windowSums(), [0, 0]);
});
