// ClientStream on its own (no server, no Redis): the live phase started from given positions
// (the time-travel seam), and a stream that falls behind ended as RESOURCE_EXHAUSTED.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  MarketUpdateSchema,
  SymbolState,
  SymbolStatusSchema,
  type StreamMarketUpdatesResponse,
} from "@quantcore/proto";
import { nowUs, waitFor } from "@quantcore/runtime";
import { ClientStream, type ClientStreamOptions, type StreamSource } from "../src/client-stream.js";
import { FanOut } from "../src/fanout.js";
import { MemoryStateStore } from "../src/memory-store.js";
import { createMetrics } from "../src/metrics.js";

const update = (symbol: string, id: number, bookEpoch = 1) =>
  create(MarketUpdateSchema, {
    symbol,
    updateId: BigInt(id),
    bookEpoch: BigInt(bookEpoch),
    timestamps: { ingestReceiveUs: nowUs() },
  });

async function withStream(
  opts: Partial<ClientStreamOptions>,
  fn: (h: {
    store: MemoryStateStore;
    stream: ClientStream;
    snapshotReads: () => number;
    killed: () => number;
  }) => Promise<void>,
) {
  const store = new MemoryStateStore();
  const fanout = new FanOut(store, 2_000);
  await fanout.start();
  let reads = 0;
  let kills = 0;
  const source: StreamSource = {
    snapshot: async () => {
      reads++;
      return [];
    },
    snapshotRetrying: async () => {
      reads++;
      return [];
    },
    statusOf: (symbol) => create(SymbolStatusSchema, { symbol, state: SymbolState.LIVE }),
    symbols: () => [],
  };
  const stream = new ClientStream(
    {
      symbols: ["BTCUSDT", "ETHUSDT"],
      maxUpdatesPerSecond: 0,
      allowBatches: false,
      keepaliveMs: 60_000,
      binary: false,
      sink: undefined,
      limits: { maxPending: 10_000, maxLagMs: 60_000 },
      kill: () => kills++,
      ...opts,
    },
    source,
    fanout,
    createMetrics(),
  );
  try {
    await fn({ store, stream, snapshotReads: () => reads, killed: () => kills });
  } finally {
    await fanout.close();
  }
}

const ids = (got: StreamMarketUpdatesResponse[]) =>
  got.flatMap((m) => (m.event.case === "update" ? [`${m.event.value.symbol}:${m.event.value.updateId}`] : []));

test("live from given positions: no snapshot is read; per symbol, updates at or below the (epoch, id) position are dropped", async () => {
  await withStream({}, async ({ store, stream, snapshotReads }) => {
    const abort = new AbortController();
    const got: StreamMarketUpdatesResponse[] = [];
    const it = stream.messages(abort.signal, {
      from: "positions",
      positions: new Map([["BTCUSDT", { bookEpoch: 1n, updateId: 5n }]]),
    });
    const reading = (async () => {
      try {
        for await (const m of it) got.push(m);
      } catch {
        /* ended by the test */
      }
    })();
    try {
      await waitFor(() => got.filter((m) => m.event.case === "status").length === 2 || undefined, "statuses");
      // At or below the position: dropped; newer: sent; a symbol without a position: sent.
      store.write(update("BTCUSDT", 5), update("ETHUSDT", 1));
      await waitFor(() => ids(got).includes("ETHUSDT:1") || undefined, "ETHUSDT 1");
      store.write(update("BTCUSDT", 6));
      await waitFor(() => ids(got).includes("BTCUSDT:6") || undefined, "BTCUSDT 6");
      // A newer book epoch is newer whatever its id.
      store.write(update("BTCUSDT", 2, 2));
      await waitFor(() => ids(got).includes("BTCUSDT:2") || undefined, "BTCUSDT 2 of epoch 2");
      assert.deepEqual(ids(got), ["ETHUSDT:1", "BTCUSDT:6", "BTCUSDT:2"]);
      assert.equal(snapshotReads(), 0);
      assert.ok(got.every((m) => m.event.case !== "update" || !m.event.value.snapshot));
    } finally {
      abort.abort();
      await reading;
    }
  });
});

test("attached before a replay: what is published meanwhile waits in the mailbox past the lag bound, then goes out live, not at or below the positions", async () => {
  await withStream({ limits: { maxPending: 10_000, maxLagMs: 50 } }, async ({ store, stream, killed }) => {
    stream.attach();
    // "Replaying" for longer than the lag bound while live updates arrive.
    store.write(update("BTCUSDT", 7), update("ETHUSDT", 3));
    await new Promise((r) => setTimeout(r, 120));
    store.write(update("BTCUSDT", 8));
    await new Promise((r) => setImmediate(r));
    assert.equal(killed(), 0, "not ended for lag before its live phase");
    const abort = new AbortController();
    const got: StreamMarketUpdatesResponse[] = [];
    const positions = new Map([
      ["BTCUSDT", { bookEpoch: 1n, updateId: 7n }],
      ["ETHUSDT", { bookEpoch: 1n, updateId: 3n }],
    ]);
    const reading = (async () => {
      try {
        for await (const m of stream.messages(abort.signal, { from: "positions", positions })) got.push(m);
      } catch {
        /* ended by the test */
      }
    })();
    try {
      await waitFor(() => ids(got).includes("BTCUSDT:8") || undefined, "BTCUSDT 8");
      store.write(update("ETHUSDT", 4));
      await waitFor(() => ids(got).includes("ETHUSDT:4") || undefined, "ETHUSDT 4");
      assert.deepEqual(ids(got), ["BTCUSDT:8", "ETHUSDT:4"]);
      assert.equal(killed(), 0);
    } finally {
      abort.abort();
      await reading;
    }
  });
});

test("a stream whose mailbox stays behind past the lag bound is ended: RESOURCE_EXHAUSTED, transport killed", async () => {
  await withStream({ limits: { maxPending: 10_000, maxLagMs: 50 } }, async ({ store, stream, killed }) => {
    const abort = new AbortController();
    const it = stream.messages(abort.signal)[Symbol.asyncIterator]();
    // The client reads the snapshot and statuses, then stops reading: updates pile up in the mailbox.
    for (let i = 0; i < 2; i++) await it.next();
    store.write(update("BTCUSDT", 1));
    await new Promise((r) => setTimeout(r, 80));
    store.write(update("ETHUSDT", 1));
    await new Promise((r) => setImmediate(r)); // the fan-out flushes in a microtask
    assert.equal(killed(), 1);
    await assert.rejects(
      (async () => {
        for (;;) if ((await it.next()).done) return;
      })(),
      (e) =>
        ConnectError.from(e).code === Code.ResourceExhausted &&
        /client fell behind/.test(ConnectError.from(e).rawMessage),
    );
    abort.abort();
  });
});
