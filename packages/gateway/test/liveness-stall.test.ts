// Liveness over a state store (Redis) that stops answering without an error (a stalled network: no
// reply, no close): the judging goes on from the clock, so the symbols go STALE once the heartbeats age.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SymbolState, type SymbolStatus } from "@quantcore/proto";
import { waitFor } from "@quantcore/runtime";
import { Liveness } from "../src/liveness.js";
import type { StateStore } from "../src/state-store.js";

test("a Redis that hangs (no reply, no error) still lets symbols go STALE when their heartbeats age", async () => {
  let hang = false;
  const never = new Promise<never>(() => {});
  const heartbeat = () =>
    JSON.stringify({
      shardId: 0,
      symbols: ["BTCUSDT"],
      connected: true,
      framesPerSecond: 10,
      lastFrameAgeMs: 0,
      reconnects: 0,
      resyncs: 0,
      gaps: 0,
      rejectedFrames: 0,
      producerBacklog: 0,
      updatedAtMs: Date.now(),
    });
  const store: StateStore = {
    heartbeats: async (kind): Promise<Record<string, string>> =>
      hang ? never : kind === "shards" ? { "0": heartbeat() } : {},
    stateSymbols: async () => (hang ? never : []),
    state: async () => (hang ? never : []),
    allState: async () => (hang ? never : []),
    subscribe: async () => ({ close: async () => {} }),
  };
  const liveness = new Liveness(store, "ns", {
    statusIntervalMs: 50,
    shardHeartbeatTimeoutMs: 500,
    computeHeartbeatTimeoutMs: 500,
    maxDataAgeMs: 500,
    universeRefreshMs: 60_000,
    universe: ["BTCUSDT"],
  });
  const seen: SymbolStatus[] = [];
  liveness.onChanges = (c) => seen.push(...c);
  await liveness.start();
  try {
    liveness.observe(
      { symbol: "BTCUSDT", updateId: 1n, timestamps: { ingestReceiveUs: Date.now() * 1000 } } as never,
      Date.now(),
    );
    await waitFor(() => liveness.statusOf("BTCUSDT").state === SymbolState.LIVE, "LIVE first", { timeoutMs: 10_000 });
    hang = true;
    await waitFor(
      () => seen.some((s) => s.state === SymbolState.STALE && /heartbeat missing/.test(s.reason)),
      "STALE while Redis hangs",
      {
        timeoutMs: 20_000,
      },
    );
    assert.equal(liveness.statusOf("BTCUSDT").state, SymbolState.STALE);
  } finally {
    liveness.close();
  }
});
