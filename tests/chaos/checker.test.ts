// The checker on a clean synthetic history and on doctored copies: each invariant violation
// must turn the verdict to FAIL, and the clean one must pass (so the checker can both pass and fail).
import assert from "node:assert/strict";
import { test } from "node:test";
import { check } from "./src/checker.js";
import type { HistoryEvent, HistoryMeta } from "./src/history.js";

const META: HistoryMeta = {
  symbols: ["BTCUSDT", "ETHUSDT"],
  gateways: ["gw-0"],
  convergenceBoundMs: 10_000,
  staleAfterMs: 2_000,
  staleGraceMs: 1_000,
  faults: { "SIGKILL compute-0": { minAcks: 5, recoveryBoundMs: 5_000, expected: "other instance takes over" } },
};

/** 40 s of two symbols at 5 updates/s through ack, Kafka, Redis and one stream; a compute kill at 10-12 s. */
function cleanHistory(): HistoryEvent[] {
  const h: HistoryEvent[] = [{ t: 0, type: "connect", stream: "s0", gateway: "gw-0" }];
  for (const [k, symbol] of META.symbols.entries()) {
    h.push({ t: 1, type: "update", stream: "s0", symbol, epoch: "1", id: "0", snapshot: true, late: false });
    h.push({ t: 2, type: "status", stream: "s0", symbol, state: "LIVE", reason: "" });
    for (let i = 1; i <= 200; i++) {
      const t = i * 200 + k;
      const v = { symbol, epoch: "1", id: String(1000 + i) };
      h.push({ t, type: "ack", partition: k, offset: String(i - 1), ...v });
      h.push({ t: t + 5, type: "kafka", partition: k, offset: String(i - 1), reset: false, ...v });
      // During the kill (10-12 s) Redis and the stream stall, then catch up.
      const delivered = t >= 10_000 && t < 12_500 ? 12_500 + (t - 10_000) / 1000 : t + 20;
      h.push({ t: delivered, type: "redis", ...v });
      h.push({ t: delivered + 5, type: "update", stream: "s0", snapshot: false, late: false, bid: 99, ask: 101, ...v });
    }
  }
  h.push({ t: 10_000, type: "fault", fault: "SIGKILL compute-0", kind: "kill-compute", phase: "start" });
  h.push({
    t: 12_000,
    type: "fault",
    fault: "SIGKILL compute-0",
    kind: "kill-compute",
    phase: "end",
    proof: { pid: 42, pidGone: true },
  });
  return h;
}

const failed = (h: HistoryEvent[], meta = META) => {
  const r = check(h, meta);
  assert.equal(r.ok, false, "the checker must fail this history");
  return r;
};

test("a clean history passes, with the recovery measured", () => {
  const r = check(cleanHistory(), META);
  assert.deepEqual(r.invariants.violations, []);
  assert.equal(r.faults[0]!.failures.length, 0, r.faults[0]!.failures.join("; "));
  assert.equal(r.ok, true);
  assert.equal(r.invariants.acked, 400);
  assert.equal(r.faults[0]!.recoverySeconds, 0.5);
  assert.equal(r.faults[0]!.acksInWindow, 21);
});

test("a lost acknowledged record fails (and a duplicate does not)", () => {
  const h = cleanHistory();
  const dup = h.find((e) => e.type === "kafka")!;
  h.push({ ...dup, t: dup.t + 1, offset: "999" } as HistoryEvent);
  // The reader seeing one offset twice is one record, not a duplicate.
  h.push({ ...dup, t: dup.t + 2 } as HistoryEvent);
  const ok = check(h, META);
  assert.equal(ok.ok, true);
  assert.equal(ok.invariants.duplicates, 1);
  assert.equal(ok.invariants.kafkaRecords, 401);
  const i = h.findIndex((e) => e.type === "kafka" && e.id === "1100");
  h.splice(i, 1);
  const r = failed(h);
  assert.equal(r.invariants.ackedLost, 1);
  assert.match(r.invariants.violations[0]!.detail, /id 1100/);
});

test("an acked offset holding a different record counts as lost", () => {
  const h = cleanHistory();
  const k = h.find((e) => e.type === "kafka" && e.id === "1050") as Extract<HistoryEvent, { type: "kafka" }>;
  k.id = "7";
  assert.equal(failed(h).invariants.ackedLost, 1);
});

test("an id going backwards on a stream fails; across a reconnect it does not", () => {
  const h = cleanHistory();
  h.push({
    t: 30_000.5,
    type: "update",
    stream: "s0",
    symbol: "BTCUSDT",
    epoch: "1",
    id: "1001",
    snapshot: false,
    late: false,
  });
  assert.equal(failed(h).invariants.streamIdsBackwards, 1);

  const g = cleanHistory();
  g.push({ t: 30_000.1, type: "connect", stream: "s0", gateway: "gw-0" });
  g.push({
    t: 30_000.2,
    type: "update",
    stream: "s0",
    symbol: "BTCUSDT",
    epoch: "1",
    id: "1001",
    snapshot: true,
    late: false,
  });
  assert.equal(check(g, META).invariants.streamIdsBackwards, 0);
});

test("a higher epoch with a lower id is not backwards; a lower epoch is", () => {
  const h = cleanHistory();
  h.push({
    t: 40_100,
    type: "update",
    stream: "s0",
    symbol: "BTCUSDT",
    epoch: "2",
    id: "5",
    snapshot: false,
    late: false,
  });
  h.push({ t: 40_100, type: "redis", symbol: "BTCUSDT", epoch: "2", id: "5" });
  assert.equal(check(h, META).ok, true);
  h.push({ t: 40_200, type: "redis", symbol: "BTCUSDT", epoch: "1", id: "5000" });
  assert.equal(failed(h).invariants.redisIdsBackwards, 1);
});

test("a Redis id going backwards fails, except after a Redis restart", () => {
  const h = cleanHistory();
  h.push({ t: 40_100, type: "redis", symbol: "ETHUSDT", epoch: "1", id: "1002" });
  assert.equal(failed(h).invariants.redisIdsBackwards, 1);
  const g = cleanHistory();
  g.push({ t: 40_050, type: "fault", fault: "SIGKILL redis", kind: "kill-redis", phase: "start" });
  g.push({ t: 40_100, type: "redis", symbol: "ETHUSDT", epoch: "1", id: "1002" });
  assert.equal(check(g, META).invariants.redisIdsBackwards, 0);
});

test("a live update before the stream's snapshot fails", () => {
  const h = cleanHistory().filter((e) => !(e.type === "update" && e.snapshot && e.symbol === "ETHUSDT"));
  assert.equal(failed(h).invariants.snapshotMissing, 1);
});

test("a crossed book and a non-finite value fail", () => {
  const h = cleanHistory();
  h.push({
    t: 40_100,
    type: "update",
    stream: "s0",
    symbol: "BTCUSDT",
    epoch: "1",
    id: "1300",
    snapshot: false,
    late: false,
    bid: 101,
    ask: 100,
  });
  assert.equal(failed(h).invariants.crossedBooks, 1);
  const g = cleanHistory();
  g.push({
    t: 40_100,
    type: "update",
    stream: "s0",
    symbol: "BTCUSDT",
    epoch: "1",
    id: "1300",
    snapshot: false,
    late: false,
    bad: ["obi1"],
  });
  assert.equal(failed(g).invariants.nonFinite, 1);
});

test("a fault without proof, or with too few acks in its window, fails", () => {
  const h = cleanHistory();
  const end = h.find((e) => e.type === "fault" && e.phase === "end") as Extract<HistoryEvent, { type: "fault" }>;
  end.proof = { pid: 42, pidGone: false };
  assert.match(failed(h).faults[0]!.failures.join(), /still alive/);
  const g = cleanHistory().filter((e) => !(e.type === "ack" && e.t >= 10_000 && e.t <= 12_000));
  assert.match(failed(g).faults[0]!.failures.join(), /acks in the window/);
});

test("a recovery past its bound fails; a fault asked for but not run fails", () => {
  const h = cleanHistory();
  assert.match(
    failed(h, {
      ...META,
      faults: { "SIGKILL compute-0": { ...META.faults["SIGKILL compute-0"]!, recoveryBoundMs: 100 } },
    }).faults[0]!.failures.join(),
    /recovery/,
  );
  assert.deepEqual(
    failed(h, { ...META, faults: { ...META.faults, "SIGKILL gateway-0": { minAcks: 0, expected: "" } } }).missingFaults,
    ["SIGKILL gateway-0"],
  );
});

test("Redis not catching up with Kafka within the bound fails", () => {
  const h = cleanHistory();
  h.push({
    t: 11_000,
    type: "kafka",
    partition: 0,
    offset: "5000",
    reset: false,
    symbol: "BTCUSDT",
    epoch: "1",
    id: "999999",
  });
  assert.match(failed(h).faults[0]!.failures.join(), /redis never reached BTCUSDT/);
});

test("a quiet spell on a connected stream without a STALE status fails; with one it passes", () => {
  const h = cleanHistory().filter(
    (e) => !(e.type === "update" && !e.snapshot && e.symbol === "ETHUSDT" && e.t > 20_000 && e.t < 26_000),
  );
  assert.match(failed(h).faults[0]!.failures.join(), /without a STALE/);
  h.push({ t: 23_000, type: "status", stream: "s0", symbol: "ETHUSDT", state: "STALE", reason: "no update for 2.0 s" });
  assert.equal(check(h, META).ok, true);
});

test("after a reset with an empty snapshot (Redis restarted empty) a symbol may start live; live before a later snapshot fails", () => {
  const reset = (h: HistoryEvent[], snapshotFirst: boolean) => {
    const i = h.findIndex((e) => e.t >= 30_000);
    const resetAt = h[i]!.t;
    const live = { t: resetAt + 1, type: "update", stream: "s0", symbol: "ETHUSDT", epoch: "1", id: "5000" } as const;
    const snap = { t: resetAt + 2, type: "update", stream: "s0", symbol: "BTCUSDT", epoch: "1", id: "5000" } as const;
    const extra: HistoryEvent[] = snapshotFirst
      ? [{ ...live, snapshot: false, late: false, bid: 99, ask: 101 }]
      : [
          { ...live, snapshot: false, late: false, bid: 99, ask: 101 },
          { ...snap, snapshot: true, late: false, bid: 99, ask: 101 },
        ];
    return [...h.slice(0, i), { t: resetAt, type: "reset", stream: "s0" } as HistoryEvent, ...extra, ...h.slice(i)];
  };
  assert.equal(check(reset(cleanHistory(), true), META).invariants.snapshotMissing, 0);
  assert.equal(failed(reset(cleanHistory(), false)).invariants.snapshotMissing, 1);
});
