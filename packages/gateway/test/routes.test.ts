// The market-data routes over the in-memory state store, through Connect's router transport: no
// Redis, no sockets, milliseconds. The Redis-backed tests (gateway, status, requests) stay as
// integration tests, and the direct-write path (which needs a real transport) keeps its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import {
  HopTimestampsSchema,
  MarketDataService,
  MarketUpdateSchema,
  SignalsSchema,
  SymbolState,
  type MarketUpdate,
  type StreamMarketUpdatesResponse,
} from "@quantcore/proto";
import { nowUs, sleep, waitFor } from "@quantcore/runtime";
import { createMarketData } from "../src/market-data.js";
import { MemoryStateStore } from "../src/memory-store.js";
import { createMetrics, type Metrics } from "../src/metrics.js";
import { DEFAULT_GATEWAY_OPTIONS, type GatewayOptions } from "../src/options.js";

interface Harness {
  store: MemoryStateStore;
  client: Client<typeof MarketDataService>;
  metrics: Metrics;
}

async function withRoutes(
  opts: Partial<GatewayOptions>,
  fn: (h: Harness) => Promise<void>,
  transport: { useBinaryFormat?: boolean } = {},
) {
  const store = new MemoryStateStore();
  const metrics = createMetrics();
  const md = createMarketData({
    opts: { ...DEFAULT_GATEWAY_OPTIONS, ...opts },
    store,
    metrics,
    onRejected: (contract) => metrics.rejectedContracts.inc({ contract }),
  });
  await md.start();
  const client = createClient(MarketDataService, createRouterTransport(md.routes, { transport }));
  try {
    await fn({ store, client, metrics });
  } finally {
    await md.close();
  }
}

const update = (symbol: string, id: number, obi20 = 0): MarketUpdate =>
  create(MarketUpdateSchema, {
    symbol,
    updateId: BigInt(id),
    signals: create(SignalsSchema, { obi20 }),
    timestamps: create(HopTimestampsSchema, { ingestReceiveUs: nowUs(), computePublishUs: nowUs() }),
  });

type Request = Partial<{
  symbols: string[];
  maxUpdatesPerSecond: number;
  allowBatches: boolean;
  keepaliveIntervalMs: number;
}>;

/** Reads a stream into `got` in the background, until stopped or its deadline (60 s). */
function open(client: Harness["client"], req: Request) {
  const got: StreamMarketUpdatesResponse[] = [];
  const abort = new AbortController();
  let error: ConnectError | undefined;
  const done = (async () => {
    try {
      for await (const m of client.streamMarketUpdates(req, { signal: abort.signal, timeoutMs: 60_000 })) got.push(m);
    } catch (err) {
      if (!abort.signal.aborted) error = ConnectError.from(err);
    }
  })();
  return {
    got,
    error: () => error,
    until: (what: string, check: (got: StreamMarketUpdatesResponse[]) => boolean) =>
      waitFor(() => check(got) || undefined, what, { timeoutMs: 20_000, intervalMs: 2 }),
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}

/** Every update in order (batches flattened). */
const updates = (ms: StreamMarketUpdatesResponse[]) =>
  ms.flatMap((m) =>
    m.event.case === "update" ? [m.event.value] : m.event.case === "batch" ? m.event.value.updates : [],
  );
const ids = (ms: StreamMarketUpdatesResponse[], symbol: string) =>
  updates(ms)
    .filter((u) => u.symbol === symbol)
    .map((u) => Number(u.updateId));
const statuses = (ms: StreamMarketUpdatesResponse[], symbol: string) =>
  ms.flatMap((m) => (m.event.case === "status" && m.event.value.symbol === symbol ? [m.event.value] : []));

for (const [codec, useBinaryFormat] of [
  ["binary", true],
  ["JSON", false],
] as const) {
  test(`${codec}: snapshot first, then statuses, then live updates stamped by the gateway; nothing published during the snapshot read is lost or repeated`, async () => {
    await withRoutes(
      {},
      async ({ store, client }) => {
        store.write(update("BTCUSDT", 10, 0.25), update("ETHUSDT", 20, -0.5));
        // Published after the snapshot read took its values, before it resolved: it must follow the snapshot.
        store.afterRead = () => {
          store.afterRead = undefined;
          store.write(update("BTCUSDT", 11, 0.3));
        };
        const s = open(client, { symbols: ["BTCUSDT", "ETHUSDT"] });
        try {
          await s.until("snapshot, statuses and the update published meanwhile", (got) => updates(got).length >= 3);
          const kinds = s.got.map((m) => m.event.case);
          assert.deepEqual(kinds.slice(0, 4), ["update", "update", "status", "status"]);
          const [btc, eth, live] = updates(s.got);
          assert.deepEqual(
            [btc, eth].map((u) => [u!.symbol, u!.updateId, u!.snapshot]),
            [
              ["BTCUSDT", 10n, true],
              ["ETHUSDT", 20n, true],
            ],
          );
          assert.equal(btc!.signals?.obi20, 0.25);
          assert.deepEqual([live!.symbol, live!.updateId, live!.snapshot], ["BTCUSDT", 11n, false]);
          for (const u of [btc, eth, live]) assert.ok(u!.timestamps!.gatewaySendUs > 0, "stamped by the gateway");
          // Not newer than what went out: dropped. Newer: sent.
          store.write(update("BTCUSDT", 11));
          store.write(update("BTCUSDT", 12));
          await s.until("BTCUSDT 12", (got) => ids(got, "BTCUSDT").includes(12));
          assert.deepEqual(ids(s.got, "BTCUSDT"), [10, 11, 12]);
          assert.deepEqual(ids(s.got, "ETHUSDT"), [20]);
          assert.equal(s.error(), undefined);
        } finally {
          await s.stop();
        }
      },
      { useBinaryFormat },
    );
  });
}

test("validation: too many symbols and malformed ones get INVALID_ARGUMENT, unknown ones NOT_FOUND naming them; an unreachable store UNAVAILABLE", async () => {
  await withRoutes({ maxSymbolsPerRequest: 2, universe: ["BTCUSDT", "ETHUSDT"] }, async ({ store, client }) => {
    const cases: [Request, Code, RegExp][] = [
      [{ symbols: ["BTCUSDT", "ETHUSDT", "SOLUSDT"] }, Code.InvalidArgument, /^at most 2 symbols per request, got 3$/],
      [{ symbols: ["btc-usdt"] }, Code.InvalidArgument, /^invalid symbol "btc-usdt": expected e\.g\. BTCUSDT$/],
      [
        { symbols: ["XYZUSDT", "BTCUSD"] },
        Code.NotFound,
        /^unknown symbols XYZUSDT, BTCUSD: not in the gateway's universe \(see ListSymbols\)$/,
      ],
    ];
    for (const [req, code, message] of cases) {
      const s = open(client, req);
      await s.until(`the stream's error for ${JSON.stringify(req)}`, () => s.error() !== undefined);
      assert.equal(s.error()!.code, code, JSON.stringify(req));
      assert.match(s.error()!.rawMessage, message);
      assert.equal(s.got.length, 0);
      await s.stop();
      await assert.rejects(client.getSnapshot({ symbols: req.symbols }), (e) => {
        const err = ConnectError.from(e);
        return err.code === code && message.test(err.rawMessage);
      });
    }
    store.failReads = new Error("connection is closed");
    await assert.rejects(client.listSymbols({}), (e) => ConnectError.from(e).code === Code.Unavailable);
    await assert.rejects(
      client.getSnapshot({ symbols: ["BTCUSDT"] }),
      (e) => ConnectError.from(e).code === Code.Unavailable,
    );
  });
});

test("batching: with allow_batches the snapshot and updates ready together are one batch; without, one update per message", async () => {
  await withRoutes({}, async ({ store, client }) => {
    const symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
    store.write(...symbols.map((s, i) => update(s, 100 + i)));
    const batched = open(client, { symbols, allowBatches: true });
    const single = open(client, { symbols });
    try {
      const hasStatuses = (got: StreamMarketUpdatesResponse[]) => symbols.every((s) => statuses(got, s).length > 0);
      await batched.until("snapshot and statuses (batched)", hasStatuses);
      await single.until("snapshot and statuses (single)", hasStatuses);
      // One read of the store, several updates: they arrive together.
      store.write(...symbols.map((s, i) => update(s, 200 + i)));
      await batched.until("the live batch", (got) => updates(got).length === 6);
      await single.until("the live updates", (got) => updates(got).length === 6);
      const shape = (got: StreamMarketUpdatesResponse[]) =>
        got.flatMap((m) =>
          m.event.case === "batch"
            ? [`batch:${m.event.value.updates.length}`]
            : m.event.case === "update"
              ? ["update"]
              : [],
        );
      assert.deepEqual(shape(batched.got), ["batch:3", "batch:3"]);
      assert.deepEqual(shape(single.got), ["update", "update", "update", "update", "update", "update"]);
      for (const s of [batched, single]) assert.deepEqual(ids(s.got, "SOLUSDT"), [102, 202]);
    } finally {
      await Promise.all([batched.stop(), single.stop()]);
    }
  });
});

test("staleness: statuses follow the shard heartbeat (LIVE, STALE naming the shard, LIVE again), on the stream and in GetSnapshot", async () => {
  await withRoutes({ statusIntervalMs: 20, shardHeartbeatTimeoutMs: 5_000 }, async ({ store, client }) => {
    const beat = (updatedAtMs: number, connected = true) =>
      store.setHeartbeat(
        "shards",
        "0",
        JSON.stringify({
          shardId: 0,
          symbols: ["SOLUSDT"],
          connected,
          framesPerSecond: 10,
          lastFrameAgeMs: 0,
          reconnects: 0,
          resyncs: 0,
          gaps: 0,
          rejectedFrames: 0,
          producerBacklog: 0,
          updatedAtMs,
        }),
      );
    // A heartbeat dated ahead never ages during the test: LIVE without racing the clock.
    beat(Date.now() + 3_600_000);
    store.write(update("SOLUSDT", 1));
    const s = open(client, { symbols: ["SOLUSDT"] });
    const last = () => statuses(s.got, "SOLUSDT").at(-1);
    try {
      await s.until("LIVE", () => last()?.state === SymbolState.LIVE);
      beat(Date.now() - 60_000);
      await s.until("STALE", () => last()?.state === SymbolState.STALE);
      assert.match(last()!.reason, /^shard 0 heartbeat missing for \d+\.\d s$/);
      const snap = await client.getSnapshot({ symbols: ["SOLUSDT"] });
      assert.deepEqual(
        snap.statuses.map((x) => [x.symbol, x.state]),
        [["SOLUSDT", SymbolState.STALE]],
      );
      assert.equal(snap.updates[0]!.snapshot, true);
      beat(Date.now() + 3_600_000, false);
      await s.until("STALE: disconnected", () => /disconnected/.test(last()?.reason ?? ""));
      assert.equal(last()!.reason, "shard 0 disconnected from the exchange");
      beat(Date.now() + 3_600_000);
      await s.until("LIVE again", () => last()?.state === SymbolState.LIVE);
      // Only changes go out: LIVE, STALE (heartbeat), STALE (disconnected), LIVE (after whatever was
      // judged before the first heartbeat was read).
      const seq = statuses(s.got, "SOLUSDT").map((x) => `${SymbolState[x.state]} ${x.reason}`.trim());
      assert.deepEqual(
        seq.slice(seq.indexOf("LIVE")).map((x) => x.replace(/\d+\.\d s$/, "N s")),
        ["LIVE", "STALE shard 0 heartbeat missing for N s", "STALE shard 0 disconnected from the exchange", "LIVE"],
      );
    } finally {
      await s.stop();
    }
  });
});

test("rate cap: at most max_updates_per_second per symbol, conflated to the newest, which always arrives", async () => {
  await withRoutes({}, async ({ store, client, metrics }) => {
    store.write(update("BTCUSDT", 1));
    const s = open(client, { symbols: ["BTCUSDT"], maxUpdatesPerSecond: 5 });
    try {
      await s.until("snapshot", (got) => updates(got).length === 1);
      const startMs = Date.now();
      for (let id = 2; id <= 30; id++) {
        store.write(update("BTCUSDT", id));
        await sleep(2);
      }
      await s.until("the newest update", (got) => ids(got, "BTCUSDT").at(-1) === 30);
      const elapsedMs = Date.now() - startMs;
      const live = ids(s.got, "BTCUSDT").slice(1);
      // One per 200 ms interval (plus one at the start of the window), however slow the machine.
      assert.ok(live.length <= Math.floor(elapsedMs / 200) + 2, `${live.length} updates in ${elapsedMs} ms`);
      assert.ok(live.length < 29, "conflated");
      assert.deepEqual(
        live,
        [...live].sort((a, b) => a - b),
        "in order, none twice",
      );
      assert.equal(new Set(live).size, live.length);
    } finally {
      await s.stop();
    }
    const conflated = (await metrics.conflated.get()).values[0]?.value ?? 0;
    assert.ok(conflated > 0, "conflation counted");
  });
});

test("a lost subscription: a reset, then a fresh snapshot and the statuses again", async () => {
  await withRoutes({}, async ({ store, client }) => {
    store.write(update("BTCUSDT", 1));
    const s = open(client, { symbols: ["BTCUSDT"] });
    try {
      await s.until("snapshot and status", (got) => statuses(got, "BTCUSDT").length === 1);
      // Published while "disconnected": stored, never delivered.
      store.write(update("BTCUSDT", 2));
      s.got.length = 0;
      store.interrupt();
      await s.until("reset, snapshot, status", (got) => statuses(got, "BTCUSDT").length === 1);
      assert.deepEqual(
        s.got.map((m) => m.event.case),
        ["reset", "update", "status"],
      );
      const reset = s.got[0]!.event;
      assert.equal(reset.case === "reset" && reset.value.reason, "state store subscription was interrupted");
      assert.deepEqual(
        updates(s.got).map((u) => [u.updateId, u.snapshot]),
        [[2n, true]],
      );
    } finally {
      await s.stop();
    }
  });
});

test("keepalive: an idle stream gets one per interval", async () => {
  await withRoutes({}, async ({ client }) => {
    const s = open(client, { symbols: [], keepaliveIntervalMs: 250 });
    try {
      await s.until("two keepalives", (got) => got.filter((m) => m.event.case === "keepalive").length >= 2);
    } finally {
      await s.stop();
    }
  });
});
