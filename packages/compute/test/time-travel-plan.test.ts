// Where a time-travel session reads: the horizon rule and the ranges (pure; no broker).
import assert from "node:assert/strict";
import { test } from "node:test";
import { partitionsBeforeHorizon, rangesToRead } from "../src/time-travel/plan.js";

const offsets = [
  { partition: 0, low: 0n, high: 100n },
  { partition: 1, low: 50n, high: 80n }, // retention removed its first 50 records
  { partition: 2, low: 0n, high: 0n }, // never written
  { partition: 3, low: 10n, high: 10n }, // everything deleted
];

test("a start whose first offset is the log's first offset of a non-empty partition is before the horizon", () => {
  assert.deepEqual(
    partitionsBeforeHorizon(
      offsets,
      new Map([
        [0, 40n],
        [1, 60n],
        [2, 0n],
        [3, 10n],
      ]),
    ),
    [],
  );
  assert.deepEqual(
    partitionsBeforeHorizon(
      offsets,
      new Map([
        [0, 40n],
        [1, 50n],
        [2, 0n],
        [3, 10n],
      ]),
    ),
    [1],
  );
  assert.deepEqual(
    partitionsBeforeHorizon(
      offsets,
      new Map([
        [0, 0n],
        [1, 50n],
        [2, 0n],
        [3, 10n],
      ]),
    ),
    [0, 1],
  );
  // Every record before the start (the index answers the end): servable, nothing to replay.
  assert.deepEqual(
    partitionsBeforeHorizon(
      offsets,
      new Map([
        [0, 100n],
        [1, 80n],
      ]),
    ),
    [],
  );
});

test("ranges run from the warm-up offset, clamped to the log, to the end offsets; empty ones are left out", () => {
  assert.deepEqual(
    rangesToRead(
      offsets,
      new Map([
        [0, 30n],
        [1, 20n],
        [2, 0n],
        [3, 10n],
      ]),
    ),
    [
      { partition: 0, fromOffset: 30n, endOffset: 100n },
      { partition: 1, fromOffset: 50n, endOffset: 80n },
    ],
  );
  assert.deepEqual(
    rangesToRead(
      offsets,
      new Map([
        [0, 100n],
        [1, 80n],
      ]),
    ),
    [],
  );
});
