// Time travel (issue #16) end to end: recorded frames -> sim -> ingest -> Kafka -> compute ->
// Redis -> gateway, plus the replay worker. A live subscriber records what it gets; the gateway
// is then replaced by a new instance, and a bot starting from a time BEFORE that restart (so no
// gateway memory can serve it) must get, per symbol, every id the live subscriber got, in order,
// with the same signals, one handover, then live with nothing repeated or backwards.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { spotReplayFile, startBinanceSim, type BinanceSim } from "@quantcore/binance-sim";
import { createComputeService, createReplayWorker, type ComputeService, type ReplayWorker } from "@quantcore/compute";
import { createGateway, type Gateway } from "@quantcore/gateway";
import { createIngestService, type IngestService } from "@quantcore/ingest";
import {
  MarketDataService,
  SIGNAL_FIELDS,
  type MarketUpdate,
  type ReplayHandover,
  type StreamMarketUpdatesResponse,
} from "@quantcore/proto";
import { nowUs, sleep, waitFor } from "@quantcore/runtime";
import { exitWhenDone } from "../support/exit-guard.js";
import { testServices, type TestServices } from "../support/services.js";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];
const run = randomUUID().slice(0, 8);
const ns = `tt${run}`;
const LIVE_RECORD_MS = 8_000;

let services: TestServices | undefined;
let sim: BinanceSim | undefined;
let ingest: IngestService | undefined;
let compute: ComputeService | undefined;
let worker: ReplayWorker | undefined;
const gateways: Gateway[] = [];
let pipelineStartUs = 0;
let newCompute: () => ComputeService;
let newIngest: () => IngestService;

const newGateway = async (extra: Parameters<typeof createGateway>[0] | object = {}) => {
  const g = await createGateway({
    redisUrl: services!.redisUrl,
    redisNamespace: ns,
    grpcPort: 0,
    httpPort: 0,
    universe: SYMBOLS,
    ...extra,
  });
  gateways.push(g);
  return g;
};

before(async () => {
  const topic = `order_book_tt_${run}`;
  services = await testServices(topic);
  const { brokers, redisUrl } = services;
  pipelineStartUs = nowUs();
  sim = await startBinanceSim({
    replayFiles: [spotReplayFile("btcusdt"), spotReplayFile("ethusdt")],
    speed: 3,
    syntheticSymbols: [],
  });
  const simUrls = { wsBaseUrl: sim.wsUrl, restBaseUrl: sim.restUrl };
  newIngest = () => createIngestService({ ...simUrls, symbols: SYMBOLS, kafkaBrokers: brokers, kafkaTopic: topic });
  ingest = newIngest();
  newCompute = () =>
    createComputeService({
      kafkaBrokers: brokers,
      kafkaTopic: topic,
      groupId: `tt-${run}`,
      redisUrl,
      redisNamespace: ns,
    });
  compute = newCompute();
  worker = createReplayWorker({ kafkaBrokers: brokers, kafkaTopic: topic, redisUrl, redisNamespace: ns });
  await ingest.start();
  await compute.start();
  await worker.start();
});

after(async () => {
  for (const g of gateways) await g.close().catch(() => {});
  await worker?.stop();
  await ingest?.stop();
  await compute?.stop();
  await sim?.close();
  await services?.stop();
  exitWhenDone();
});

/** Every response of one stream until `stop` says so, the stream ends, or the deadline. */
async function collect(
  url: string,
  req: {
    symbols: string[];
    startTimeUs?: number;
    replaySpeed?: number;
    allowBatches?: boolean;
    maxUpdatesPerSecond?: number;
  },
  stop: (events: StreamMarketUpdatesResponse[]) => boolean,
  deadlineMs: number,
  signal?: AbortSignal,
): Promise<StreamMarketUpdatesResponse[]> {
  // A connection per stream, closed with it (an idle client session would outlive the test).
  const sessionManager = new Http2SessionManager(url);
  const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: url, sessionManager }));
  const events: StreamMarketUpdatesResponse[] = [];
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error("deadline")), deadlineMs);
  signal?.addEventListener("abort", () => abort.abort(new Error("stopped")), { once: true });
  try {
    for await (const res of client.streamMarketUpdates({ allowBatches: true, ...req }, { signal: abort.signal })) {
      events.push(res);
      if (stop(events)) break;
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
    if (!signal?.aborted) throw new Error(`stream deadline (${deadlineMs} ms) passed after ${events.length} events`);
  } finally {
    clearTimeout(timer);
    sessionManager.abort();
  }
  return events;
}

const updatesOf = (events: StreamMarketUpdatesResponse[]): MarketUpdate[] =>
  events.flatMap((e) =>
    e.event.case === "update" ? [e.event.value] : e.event.case === "batch" ? e.event.value.updates : [],
  );
const key = (u: MarketUpdate) => `${u.symbol}@${u.bookEpoch}:${u.updateId}`;
const newer = (a: MarketUpdate, b: MarketUpdate) =>
  a.bookEpoch !== b.bookEpoch ? a.bookEpoch > b.bookEpoch : a.updateId > b.updateId;

async function expectCode(p: Promise<unknown>, code: Code, text: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ConnectError, `a ConnectError, got ${String(err)}`);
    assert.equal(err.code, code, `code ${Code[err.code]}: ${err.message}`);
    assert.match(err.message, text);
    return true;
  });
}

test("a bot started before a gateway restart gets every live id, equal signals, one handover, then live", async () => {
  const gwA = await newGateway();
  // The pipeline publishes for both symbols.
  await collect(
    gwA.grpcUrl,
    { symbols: SYMBOLS },
    (ev) =>
      new Set(
        updatesOf(ev)
          .filter((u) => !u.snapshot)
          .map((u) => u.symbol),
      ).size === 2,
    180_000,
  );
  // The start lies 2 s before the live subscriber (whose first updates may have been received just
  // before it subscribed) and after the log's first record.
  await sleep(5_000);
  const startTimeUs = nowUs() - 2_000_000;
  const dedupBefore = compute!.stats().writesSavedByDedup;
  const stopLive = AbortSignal.timeout(LIVE_RECORD_MS);
  // Beside it, a subscriber capped at 2 updates/s per symbol: the gateway conflates the rest away.
  const [liveEvents, cappedEvents] = await Promise.all([
    collect(gwA.grpcUrl, { symbols: SYMBOLS }, () => false, LIVE_RECORD_MS + 60_000, stopLive),
    collect(gwA.grpcUrl, { symbols: SYMBOLS, maxUpdatesPerSecond: 2 }, () => false, LIVE_RECORD_MS + 60_000, stopLive),
  ]);
  const live = updatesOf(liveEvents).filter((u) => !u.snapshot);
  assert.ok(live.length >= 10, `the live subscriber got ${live.length} updates`);
  // The restart: a new gateway instance; the old one is gone.
  await gwA.close();
  const gwB = await newGateway();
  // Compute stops, then ingest: the log holds records live never published. The replay serves
  // them; compute, started again after the handover, publishes the newest of them late (ids the
  // replay already sent), which the stream must drop; then a new ingest brings fresh live data.
  const dedupLive = compute!.stats().writesSavedByDedup - dedupBefore;
  await compute!.stop();
  await sleep(2_000);
  await ingest!.stop();
  let restarted: Promise<void> | undefined;

  let handovers = 0;
  let liveAfter = 0;
  const events = await collect(
    gwB.grpcUrl,
    { symbols: SYMBOLS, startTimeUs },
    (ev) => {
      const e = ev.at(-1)!;
      if (e.event.case === "handover") {
        handovers++;
        compute = newCompute();
        ingest = newIngest();
        restarted = compute.start().then(() => sleep(1_000).then(() => ingest!.start()));
      } else if (handovers > 0) liveAfter += updatesOf([e]).length;
      return handovers > 0 && liveAfter >= 20;
    },
    240_000,
  );
  await restarted;
  assert.equal(events.filter((e) => e.event.case === "handover").length, 1, "one handover");
  const at = events.findIndex((e) => e.event.case === "handover");
  const handover = events[at]!.event.value as ReplayHandover;
  const replayed = updatesOf(events.slice(0, at));
  const after = updatesOf(events.slice(at + 1));
  assert.ok(
    replayed.every((u) => !u.snapshot),
    "replayed updates are not snapshots",
  );
  assert.equal(Number(handover.replayedUpdates), replayed.length, "handover counts the replayed updates");

  // Per symbol: ids strictly increasing across the replay, the handover and live.
  const positions = new Map(handover.positions.map((p) => [p.symbol, p]));
  for (const symbol of SYMBOLS) {
    const seq = [...replayed, ...after].filter((u) => u.symbol === symbol);
    for (let i = 1; i < seq.length; i++)
      assert.ok(newer(seq[i]!, seq[i - 1]!), `${symbol}: ${key(seq[i]!)} after ${key(seq[i - 1]!)} (index ${i})`);
    const last = replayed.filter((u) => u.symbol === symbol).at(-1);
    if (last) {
      const p = positions.get(symbol);
      assert.ok(p && p.updateId === last.updateId && p.bookEpoch === last.bookEpoch, `${symbol}: handover position`);
    }
  }

  // Every id the live subscriber got from the start time on is replayed, with the same signals.
  const byKey = new Map(replayed.map((u) => [key(u), u]));
  let compared = 0;
  for (const l of live) {
    if ((l.timestamps?.ingestReceiveUs ?? 0) < startTimeUs) continue;
    const r = byKey.get(key(l));
    assert.ok(r, `live ${key(l)} (received ${l.timestamps?.ingestReceiveUs}) was replayed`);
    for (const f of SIGNAL_FIELDS) {
      const a = l.signals?.[f];
      const b = r.signals?.[f];
      assert.ok(
        (a === undefined && b === undefined) || (a !== undefined && b !== undefined && Math.abs(a - b) <= 1e-12),
        `${key(l)} ${f}: live ${a} replay ${b}`,
      );
    }
    compared++;
  }
  assert.ok(compared >= 10, `compared ${compared} live updates with the replay`);
  // The replay holds ids live conflation dropped: the capped subscriber's gaps, and whatever
  // compute's per-batch dedup never published.
  const capped = updatesOf(cappedEvents).filter((u) => !u.snapshot);
  const cappedKeys = new Set(capped.map(key));
  const cappedFrom = Math.min(...capped.map((u) => u.timestamps!.ingestReceiveUs));
  const cappedTo = Math.max(...capped.map((u) => u.timestamps!.ingestReceiveUs));
  const conflatedAway = replayed.filter(
    (u) =>
      u.timestamps!.ingestReceiveUs > cappedFrom && u.timestamps!.ingestReceiveUs < cappedTo && !cappedKeys.has(key(u)),
  );
  assert.ok(capped.length >= 2, `the capped subscriber got ${capped.length} updates`);
  assert.ok(conflatedAway.length > 0, "the replay includes ids the capped live stream conflated away");
  const liveKeys = new Set(live.map(key));
  const firstLive = Math.min(...live.map((u) => u.timestamps!.ingestReceiveUs));
  const lastLive = Math.max(...live.map((u) => u.timestamps!.ingestReceiveUs));
  const extra = replayed.filter(
    (u) =>
      u.timestamps!.ingestReceiveUs > firstLive && u.timestamps!.ingestReceiveUs < lastLive && !liveKeys.has(key(u)),
  );
  console.log(
    `# live ${live.length} updates (compute dedup dropped ${dedupLive} meanwhile); replayed ${replayed.length}, ` +
      `${extra.length} of them within the live period were never sent live; ${after.length} live after the handover; ` +
      `the capped subscriber got ${capped.length}, the replay holds ${conflatedAway.length} ids it conflated away`,
  );
  if (dedupLive > 0) assert.ok(extra.length > 0, "the replay includes ids live conflation dropped");
  else console.log("# compute deduplicated nothing during the live period: no dropped id to look for");
});

test("a start before the log's first record: FAILED_PRECONDITION naming the horizon", async () => {
  const gw = await newGateway();
  await expectCode(
    collect(gw.grpcUrl, { symbols: SYMBOLS, startTimeUs: pipelineStartUs - 3_600_000_000 }, () => true, 120_000),
    Code.FailedPrecondition,
    /retention horizon \d{4}-\d\d-\d\dT/,
  );
});

test("a start in the future or a negative speed: INVALID_ARGUMENT", async () => {
  const gw = await newGateway();
  await expectCode(
    collect(gw.grpcUrl, { symbols: SYMBOLS, startTimeUs: nowUs() + 3_600_000_000 }, () => true, 60_000),
    Code.InvalidArgument,
    /in the future/,
  );
  await expectCode(
    collect(gw.grpcUrl, { symbols: SYMBOLS, startTimeUs: nowUs() - 1_000_000, replaySpeed: -1 }, () => true, 60_000),
    Code.InvalidArgument,
    /replay_speed/,
  );
});

test("over capacity: RESOURCE_EXHAUSTED (gateway bound, and no worker taking the request)", async () => {
  // A namespace no worker serves, and room for one replaying stream.
  const gw = await newGateway({
    redisNamespace: `${ns}x`,
    timeTravel: {
      maxSessions: 1,
      acceptTimeoutMs: 3_000,
      aliveTtlMs: 30_000,
      workerSilenceMs: 60_000,
      readCount: 500,
      readBlockMs: 1_000,
    },
  });
  const first = collect(gw.grpcUrl, { symbols: SYMBOLS, startTimeUs: nowUs() - 1_000_000 }, () => true, 60_000);
  await sleep(500);
  await expectCode(
    collect(gw.grpcUrl, { symbols: SYMBOLS, startTimeUs: nowUs() - 1_000_000 }, () => true, 60_000),
    Code.ResourceExhausted,
    /already serves 1 replaying stream/,
  );
  await expectCode(first, Code.ResourceExhausted, /no replay worker took the request/);
});

test("replay_speed 1 paces the replay; a client that leaves ends its session in the worker", async () => {
  const gw = await newGateway();
  // The log must hold the last 20 s (when this test runs alone).
  await sleep(Math.max(0, pipelineStartUs / 1000 + 25_000 - Date.now()));
  const before = worker!.timeTravelStats();
  const leave = AbortSignal.timeout(4_000);
  const started = Date.now();
  const events = await collect(
    gw.grpcUrl,
    { symbols: SYMBOLS, startTimeUs: nowUs() - 20_000_000, replaySpeed: 1 },
    () => false,
    60_000,
    leave,
  );
  const elapsedMs = Date.now() - started;
  const replayed = updatesOf(events);
  assert.equal(events.filter((e) => e.event.case === "handover").length, 0, "20 s at 1x: no handover within 4 s");
  assert.ok(replayed.length > 0, "some updates replayed");
  const times = replayed.map((u) => u.timestamps!.ingestReceiveUs);
  const spanMs = (Math.max(...times) - Math.min(...times)) / 1000;
  // Paced: the replayed span cannot exceed the time spent reading (plus one pacing step of slack).
  assert.ok(spanMs <= elapsedMs + 1_000, `replayed ${spanMs.toFixed(0)} ms of data in ${elapsedMs} ms at 1x`);
  await waitFor(
    () => worker!.timeTravelStats().abandoned > before.abandoned,
    "the worker to end the session its client left",
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  assert.equal(worker!.timeTravelStats().active, 0, "no session left running");
  // The same on /metrics: the gateway's and the worker's.
  const gatewayMetrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
  assert.match(gatewayMetrics, /^quantcore_gateway_time_travel_sessions_started_total 1$/m);
  assert.match(gatewayMetrics, /^quantcore_gateway_time_travel_sessions_active 0$/m);
  const workerMetrics = await worker!.metrics.metrics();
  assert.match(workerMetrics, /^quantcore_time_travel_sessions_abandoned_total [1-9]\d*$/m);
  assert.match(workerMetrics, /^quantcore_time_travel_sessions_completed_total [1-9]\d*$/m);
  assert.match(workerMetrics, /^quantcore_time_travel_sessions_active 0$/m);
});

test("a paced replay longer than the client lag bound hands over and stays live", async () => {
  // Live waits in the mailbox for the whole replay (6 s at 1x), far past this gateway's lag bound.
  const gw = await newGateway({ maxClientLagMs: 1_000 });
  await sleep(Math.max(0, pipelineStartUs / 1000 + 10_000 - Date.now())); // the log holds the last 6 s
  let handedOver = false;
  let liveAfter = 0;
  const events = await collect(
    gw.grpcUrl,
    { symbols: SYMBOLS, startTimeUs: nowUs() - 6_000_000, replaySpeed: 1 },
    (ev) => {
      const e = ev.at(-1)!;
      if (e.event.case === "handover") handedOver = true;
      else if (handedOver) liveAfter += updatesOf([e]).length;
      return liveAfter >= 10;
    },
    120_000,
  );
  const at = events.findIndex((e) => e.event.case === "handover");
  assert.ok(at > 0, "handover after replayed updates");
  for (const symbol of SYMBOLS) {
    const seq = updatesOf(events).filter((u) => u.symbol === symbol);
    for (let i = 1; i < seq.length; i++) assert.ok(newer(seq[i]!, seq[i - 1]!), `${symbol}: ${key(seq[i]!)} in order`);
  }
});
