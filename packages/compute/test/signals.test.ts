import assert from "node:assert/strict";
import { test } from "node:test";
import { BookUpdateKind, type BookUpdateFields } from "@quantcore/proto";
import { DEFAULT_COMPUTE_OPTIONS } from "../src/options.js";
import { SignalEngine } from "../src/signals.js";

const rec = (f: Partial<BookUpdateFields>): BookUpdateFields => ({
  symbol: "BTCUSDT",
  kind: BookUpdateKind.UPDATE,
  updateId: 1n,
  firstUpdateId: 1n,
  exchangeEventTimeMs: 0,
  ingestReceiveTimeUs: Date.now() * 1000, // wall clock, years ahead of the recording below
  ingestProduceTimeUs: 0,
  bids: [{ price: 100, quantity: 1 }],
  asks: [{ price: 101, quantity: 1 }],
  shardId: 0,
  bookEpoch: 1n,
  ...f,
});

test("records without exchange time count at the last exchange time, never at the wall clock", () => {
  const engine = new SignalEngine(DEFAULT_COMPUTE_OPTIONS);
  const t0 = 1_723_161_255_208; // a 2024 recording
  // A RESET without event time first (a snapshot with no buffered diff), then recorded diffs.
  engine.trackOfi(rec({ kind: BookUpdateKind.RESET, updateId: 10n }));
  for (let i = 1; i <= 200; i++)
    engine.trackOfi(
      rec({ updateId: 10n + BigInt(i), exchangeEventTimeMs: t0 + i * 100, bids: [{ price: 100, quantity: i }] }),
    );
  // Another rebuild without event time, and more diffs.
  engine.trackOfi(rec({ kind: BookUpdateKind.RESET, updateId: 5n, bookEpoch: 2n }));
  for (let i = 1; i <= 200; i++)
    engine.trackOfi(
      rec({
        updateId: 5n + BigInt(i),
        bookEpoch: 2n,
        exchangeEventTimeMs: t0 + 20_000 + i * 100,
        bids: [{ price: 100, quantity: i }],
      }),
    );
  const stored = engine.takeDirty().get("BTCUSDT")!;
  const times = (JSON.parse(stored.state) as { times: number[] }).times;
  assert.ok(
    times.every((t) => t <= t0 + 40_000),
    "no wall-clock time in the windows",
  );
  // The 10 s window holds ~100 events of 100 ms each, not the whole history.
  assert.ok(times.length <= 110, `kept ${times.length} events`);
  assert.deepEqual([stored.epoch, stored.updateId], [2n, 205n]);
});

test("an older (epoch, id) is not counted twice after a restore; a newer epoch restarts the windows", () => {
  const engine = new SignalEngine(DEFAULT_COMPUTE_OPTIONS);
  engine.restore("BTCUSDT", {
    epoch: 3n,
    updateId: 100n,
    state: JSON.stringify({ prev: [100, 1, 101, 1], times: [1000], values: [2] }),
  });
  assert.equal(engine.trackOfi(rec({ updateId: 100n, bookEpoch: 3n, exchangeEventTimeMs: 1000 })), undefined);
  assert.equal(engine.trackOfi(rec({ updateId: 900n, bookEpoch: 2n, exchangeEventTimeMs: 1000 })), undefined);
  assert.deepEqual(engine.trackOfi(rec({ updateId: 101n, bookEpoch: 3n, exchangeEventTimeMs: 1100 })), [2, 2]);
  // A higher epoch (a rebuilt book) with a lower id: counted, from an empty window.
  assert.deepEqual(engine.trackOfi(rec({ updateId: 1n, bookEpoch: 4n, exchangeEventTimeMs: 1200 })), [0, 0]);
});
