// Time travel on the stream's LiveStart seam, over the in-memory state store and a fake replay
// source, through Connect's router transport: the replay goes out first while the stream is
// already subscribed live, then one handover, then live updates past the last replayed
// (epoch, id) per symbol only. No Redis, no worker: the worker path is the e2e test's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import {
  HopTimestampsSchema,
  MarketDataService,
  MarketUpdateSchema,
  ReplayHandoverSchema,
  StreamMarketUpdatesResponseSchema,
  type MarketUpdate,
  type StreamMarketUpdatesResponse,
} from "@quantcore/proto";
import { QuantCoreError, nowUs, waitFor } from "@quantcore/runtime";
import { createMarketData } from "../src/market-data.js";
import { MemoryStateStore } from "../src/memory-store.js";
import { createMetrics } from "../src/metrics.js";
import { DEFAULT_GATEWAY_OPTIONS, type GatewayOptions } from "../src/options.js";
import type { HandoverPositions } from "../src/time-travel/handover.js";
import type { ReplaySource, ReplayStreamParams } from "../src/time-travel/sessions.js";

const update = (symbol: string, epoch: number, id: number): MarketUpdate =>
  create(MarketUpdateSchema, {
    symbol,
    bookEpoch: BigInt(epoch),
    updateId: BigInt(id),
    timestamps: create(HopTimestampsSchema, { ingestReceiveUs: nowUs(), computePublishUs: nowUs() }),
  });

const respond = (event: StreamMarketUpdatesResponse["event"]) => create(StreamMarketUpdatesResponseSchema, { event });

/** A replay source that sends `replayed`, then waits for `release` before its handover. */
class FakeReplay implements ReplaySource {
  params: ReplayStreamParams | undefined;
  release!: () => void;
  private readonly released = new Promise<void>((r) => (this.release = r));
  /** Set by the test: the replay fails with it instead (as a worker's rejection does). */
  failWith: QuantCoreError | undefined;
  constructor(private readonly replayed: MarketUpdate[]) {}

  async *replay(p: ReplayStreamParams): AsyncGenerator<StreamMarketUpdatesResponse, HandoverPositions> {
    this.params = p;
    if (this.failWith) throw this.failWith;
    const positions = new Map<string, { bookEpoch: bigint; updateId: bigint }>();
    for (const u of this.replayed) {
      positions.set(u.symbol, { bookEpoch: u.bookEpoch, updateId: u.updateId });
      yield respond({ case: "update", value: u });
    }
    await this.released;
    yield respond({ case: "handover", value: create(ReplayHandoverSchema, { replayedUpdates: 5n }) });
    return positions;
  }
}

async function withRoutes(
  opts: Partial<GatewayOptions>,
  timeTravel: ReplaySource,
  fn: (store: MemoryStateStore, client: Client<typeof MarketDataService>) => Promise<void>,
  useBinaryFormat = true,
) {
  const store = new MemoryStateStore();
  const metrics = createMetrics();
  const md = createMarketData({
    opts: { ...DEFAULT_GATEWAY_OPTIONS, ...opts },
    store,
    metrics,
    onRejected: () => {},
    timeTravel,
  });
  await md.start();
  try {
    await fn(
      store,
      createClient(MarketDataService, createRouterTransport(md.routes, { transport: { useBinaryFormat } })),
    );
  } finally {
    await md.close();
  }
}

/** Reads a stream into `got` in the background, until stopped or its deadline (60 s). */
function open(client: Client<typeof MarketDataService>, req: Record<string, unknown>) {
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
    until: (what: string, check: () => boolean) =>
      waitFor(() => check() || error !== undefined || undefined, what, { timeoutMs: 20_000, intervalMs: 5 }),
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}

/** The stream as `kind symbol epoch/id` lines (statuses and keepalives left out). */
const lines = (ms: StreamMarketUpdatesResponse[]) =>
  ms.flatMap((m) => {
    const e = m.event;
    const us = e.case === "update" ? [e.value] : e.case === "batch" ? e.value.updates : [];
    if (e.case === "handover") return ["handover"];
    return us.map((u) => `${u.symbol} ${u.bookEpoch}/${u.updateId}`);
  });

const replayed = [update("BTCUSDT", 5, 100), update("ETHUSDT", 5, 200), update("BTCUSDT", 5, 103)];

for (const [codec, binary] of [
  ["binary", true],
  ["JSON", false],
] as const) {
  test(`${codec}: replay first (live conflating meanwhile, past its lag limit), one handover, then only live past the last replayed (epoch, id): a newer epoch passes whatever its id`, async () => {
    const replay = new FakeReplay(replayed);
    // A lag limit the replay outlasts: live waits in the mailbox meanwhile without ending the stream.
    await withRoutes(
      { maxClientLagMs: 50, universe: ["BTCUSDT", "ETHUSDT"] },
      replay,
      async (store, client) => {
        const start = nowUs() - 60_000_000;
        const s = open(client, { symbols: ["BTCUSDT", "ETHUSDT"], startTimeUs: start, replaySpeed: 4 });
        try {
          await s.until("the replayed updates", () => lines(s.got).length >= 3);
          assert.deepEqual(replay.params && { ...replay.params, signal: undefined }, {
            startTimeUs: start,
            replaySpeed: 4,
            symbols: ["BTCUSDT", "ETHUSDT"],
            allowBatches: false,
            binary,
            keepaliveMs: DEFAULT_GATEWAY_OPTIONS.keepaliveIntervalMs,
            signal: undefined,
            // No transport in this harness: the server's gives binary streams their sink.
            sink: undefined,
          });
          // Published while the replay is read: the replay covers the first two, the third is new.
          store.write(update("BTCUSDT", 5, 102), update("BTCUSDT", 5, 103), update("ETHUSDT", 5, 201));
          await new Promise((r) => setTimeout(r, 200)); // past the lag limit, still replaying
          replay.release();
          await s.until("the handover and ETHUSDT 201", () => lines(s.got).includes("ETHUSDT 5/201"));
          // After the handover: older or equal positions dropped; a newer epoch passes with a lower id.
          store.write(update("BTCUSDT", 5, 101), update("BTCUSDT", 5, 103));
          store.write(update("BTCUSDT", 6, 1), update("ETHUSDT", 5, 202));
          await s.until("the live updates past the handover", () => lines(s.got).includes("ETHUSDT 5/202"));
          assert.equal(s.error(), undefined);
          assert.deepEqual(lines(s.got), [
            "BTCUSDT 5/100",
            "ETHUSDT 5/200",
            "BTCUSDT 5/103",
            "handover",
            "ETHUSDT 5/201",
            "BTCUSDT 6/1",
            "ETHUSDT 5/202",
          ]);
          // Statuses follow the handover, as they follow a snapshot.
          const kinds = s.got.map((m) => m.event.case);
          assert.ok(kinds.indexOf("status") > kinds.indexOf("handover"), kinds.join(","));
        } finally {
          await s.stop();
        }
      },
      binary,
    );
  });
}

test("a replay's failure reaches the client with its code; a future start is INVALID_ARGUMENT", async () => {
  const replay = new FakeReplay([]);
  replay.failWith = new QuantCoreError("failed_precondition", "time travel: before the retention horizon");
  await withRoutes({}, replay, async (store, client) => {
    store.write(update("BTCUSDT", 1, 1));
    const past = open(client, { symbols: ["BTCUSDT"], startTimeUs: nowUs() - 1_000_000 });
    await past.until("the rejection", () => false);
    assert.equal(past.error()?.code, Code.FailedPrecondition);
    assert.match(past.error()!.rawMessage, /retention horizon/);
    const future = open(client, { symbols: ["BTCUSDT"], startTimeUs: nowUs() + 3_600_000_000 });
    await future.until("the rejection", () => false);
    assert.equal(future.error()?.code, Code.InvalidArgument);
  });
});
