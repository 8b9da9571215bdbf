// A new source whose ids restart lower (here: the Binance-compatible server restarted, Redis
// keeping its data) must replace the published state: ingest rebuilds each book under a new
// book epoch, and compute's guard orders by (epoch, id). Before epochs, the lower ids were
// refused and the symbols stayed frozen at the old source's last value.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { startBinanceSim, type BinanceSim } from "@quantcore/binance-sim";
import { createComputeService, type ComputeService } from "@quantcore/compute";
import { createIngestService, type IngestService } from "@quantcore/ingest";
import { redisKeys, waitFor } from "@quantcore/runtime";
import { exitWhenDone } from "../support/exit-guard.js";
import { testServices, type TestServices } from "../support/services.js";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];
const run = randomUUID().slice(0, 8);
const ns = `rst${run}`;
const keys = redisKeys(ns);

let services: TestServices | undefined;
let brokers: string[];
let redisUrl: string;
let sim: BinanceSim | undefined;
let ingest: IngestService;
let compute: ComputeService;
let redis: Redis;

const startSim = (port: number) =>
  startBinanceSim({ port, syntheticSymbols: SYMBOLS, syntheticUpdatesPerSecond: 50, seed: 7 });

before(async () => {
  const topic = `order_book_rst_${run}`;
  services = await testServices(topic);
  ({ brokers, redisUrl } = services);
  sim = await startSim(0);
  ingest = createIngestService({
    wsBaseUrl: sim.wsUrl,
    restBaseUrl: sim.restUrl,
    symbols: SYMBOLS,
    kafkaBrokers: brokers,
    kafkaTopic: topic,
  });
  compute = createComputeService({
    kafkaBrokers: brokers,
    kafkaTopic: topic,
    groupId: `rst-${run}`,
    redisUrl,
    redisNamespace: ns,
  });
  redis = new Redis(redisUrl);
  await ingest.start();
  await compute.start();
});

after(async () => {
  await ingest?.stop();
  await compute?.stop();
  await sim?.close();
  redis?.disconnect();
  await services?.stop();
  exitWhenDone();
});

const storedIds = async () => (await redis.hmget(keys.ids, ...SYMBOLS)).map((v) => (v === null ? -1n : BigInt(v)));
const storedEpochs = async () => (await redis.hmget(keys.epochs, ...SYMBOLS)).map((v) => BigInt(v ?? "0"));

test("a restarted exchange whose ids start lower replaces the state (new book epoch)", async () => {
  // Let the first source run until its ids are well past where a restarted one begins.
  const first = new Map<string, bigint>();
  await waitFor(
    async () => {
      const ids = await storedIds();
      ids.forEach((id, i) => first.set(SYMBOLS[i]!, id));
      return ids.every((id) => id > 0n);
    },
    "the first source's state in Redis",
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  const startIds = [...first.values()];
  await waitFor(
    async () => (await storedIds()).every((id, i) => id > startIds[i]! + 2_000n),
    "ids well past the first state",
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  const before = await storedIds();
  const epochsBefore = await storedEpochs();
  const port = sim!.port;
  await sim!.close();
  // The same seed: the new server's books start at the first one's initial ids, far below.
  sim = await startSim(port);
  const restartedAt = performance.now();
  await waitFor(
    async () => (await storedIds()).every((id, i) => id >= 0n && id < startIds[i]! + 1_000n),
    "Redis follows the restarted source's lower ids",
    { timeoutMs: 180_000, intervalMs: 50 },
  );
  const followedMs = performance.now() - restartedAt;
  const after = await storedIds();
  const epochsAfter = await storedEpochs();
  for (let i = 0; i < SYMBOLS.length; i++) {
    assert.ok(after[i]! < before[i]!, `${SYMBOLS[i]}: ${after[i]} below ${before[i]}`);
    assert.ok(epochsAfter[i]! > epochsBefore[i]!, `${SYMBOLS[i]}: epoch ${epochsAfter[i]} after ${epochsBefore[i]}`);
  }
  console.log(`# Redis followed the restarted source ${followedMs.toFixed(0)} ms after it came back`);
});
