// End to end over real sockets: recorded Binance frames -> local Binance-compatible server ->
// ingest -> Kafka (real broker) -> compute -> Redis (real server) -> gateway -> gRPC bot.
// The OBI values the bot receives are checked against an independent rebuild of the same files.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import {
  referenceObi,
  replayReference,
  spotReplayFile,
  startBinanceSim,
  type BinanceSim,
} from "@quantcore/binance-sim";
import { createComputeService, type ComputeService } from "@quantcore/compute";
import { subscribe } from "@quantcore/example-bot";
import { createGateway, type Gateway } from "@quantcore/gateway";
import { createIngestService, type IngestService } from "@quantcore/ingest";
import type { MarketUpdate } from "@quantcore/proto";
import { exitWhenDone } from "../support/exit-guard.js";
import { testServices, type TestServices } from "../support/services.js";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"] as const;
const WANT_PER_SYMBOL = 150;
const run = randomUUID().slice(0, 8);

let services: TestServices | undefined;
let brokers: string[];
let redisUrl: string;
let sim: BinanceSim;
let ingest: IngestService;
let compute: ComputeService;
let gateway: Gateway;
const abort = new AbortController();

before(async () => {
  const topic = `order_book_e2e_${run}`;
  services = await testServices(topic);
  ({ brokers, redisUrl } = services);
  sim = await startBinanceSim({
    replayFiles: [spotReplayFile("btcusdt"), spotReplayFile("ethusdt")],
    speed: 5,
    syntheticSymbols: [],
    // Evidence: only recorded frames, never the simulator's synthetic continuation.
    syntheticContinuation: false,
  });
  ingest = createIngestService({
    wsBaseUrl: sim.wsUrl,
    restBaseUrl: sim.restUrl,
    symbols: [...SYMBOLS],
    kafkaBrokers: brokers,
    kafkaTopic: topic,
  });
  compute = createComputeService({
    kafkaBrokers: brokers,
    kafkaTopic: topic,
    groupId: `e2e-${run}`,
    fromBeginning: true,
    redisUrl,
    redisNamespace: `e2e${run}`,
  });
  gateway = await createGateway({
    redisUrl,
    redisNamespace: `e2e${run}`,
    grpcPort: 0,
    httpPort: 0,
    universe: [...SYMBOLS],
  });
  await ingest.start();
  await compute.start();
});

after(async () => {
  abort.abort();
  await ingest?.stop();
  await compute?.stop();
  await gateway?.close();
  await sim?.close();
  await services?.stop();
  exitWhenDone();
});

test("a gRPC bot receives OBI values equal to an independent rebuild of the recorded frames", async () => {
  const received = new Map<string, MarketUpdate[]>(SYMBOLS.map((s) => [s, []]));
  const done = (async () => {
    for await (const u of subscribe({ baseUrl: gateway.grpcUrl, symbols: [...SYMBOLS], signal: abort.signal })) {
      if (u.snapshot) continue;
      received.get(u.symbol)?.push(u);
      if (SYMBOLS.every((s) => received.get(s)!.length >= WANT_PER_SYMBOL)) return;
    }
  })();
  const timeout = AbortSignal.timeout(120_000);
  await Promise.race([
    done,
    new Promise((_, reject) =>
      timeout.addEventListener("abort", () =>
        reject(new Error(`timed out: got ${SYMBOLS.map((s) => `${s}=${received.get(s)!.length}`).join(" ")}`)),
      ),
    ),
  ]);

  for (const symbol of SYMBOLS) {
    const updates = received.get(symbol)!;
    const wanted = new Map(updates.map((u) => [Number(u.updateId), u]));
    let checked = 0;
    await replayReference(spotReplayFile(symbol.toLowerCase() as "btcusdt" | "ethusdt"), (id, book) => {
      const u = wanted.get(id);
      if (!u) return;
      const expected = referenceObi(book, 20);
      assert.ok(expected !== undefined, `${symbol}@${id}: reference book has a value`);
      assert.ok(u.signals?.obi20 !== undefined, `${symbol}@${id}: obi20 present`);
      assert.ok(
        Math.abs(u.signals.obi20 - expected) <= 1e-12,
        `${symbol}@${id}: obi20 ${u.signals.obi20} != ${expected}`,
      );
      assert.ok(Math.abs(u.signals.obi1! - referenceObi(book, 1)!) <= 1e-12, `${symbol}@${id}: obi1`);
      checked++;
      wanted.delete(id);
      return wanted.size === 0;
    });
    assert.equal(
      wanted.size,
      0,
      `${symbol}: ids not found in the recording: ${[...wanted.keys()].slice(0, 5).join(",")}`,
    );
    assert.ok(checked >= WANT_PER_SYMBOL, `${symbol}: checked ${checked}`);
    // Every hop stamped its time, in order.
    const t = updates.at(-1)!.timestamps!;
    assert.ok(t.ingestReceiveUs > 0 && t.ingestReceiveUs <= t.ingestProduceUs);
    assert.ok(t.ingestProduceUs <= t.computeReceiveUs && t.computeReceiveUs <= t.computePublishUs);
    assert.ok(t.computePublishUs <= t.gatewaySendUs);
  }
});
