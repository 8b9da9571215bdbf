// Ingest against the Binance-compatible local server and the real broker: what reaches Kafka
// is checked record by record (contiguous update ids, resets only where a book was rebuilt).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { createGunzip } from "node:zlib";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import { startBinanceSim, defaultReplayFiles, type BinanceSimOptions } from "@quantcore/binance-sim";
import { BookUpdateKind, decodeBookUpdate, type BookUpdateFields } from "@quantcore/proto";
import { waitFor } from "@quantcore/runtime";
import { createTopics, startKafka, startStack, type StackHandle } from "@quantcore/stack";
import { createIngestService, deadLetterTopicOf, type IngestOptions, type IngestService } from "../src/index.js";

let stack: StackHandle | undefined;
let brokers: string[];

before(async () => {
  if (process.env.KAFKA_BROKERS) brokers = process.env.KAFKA_BROKERS.split(",");
  else {
    stack = await startStack({ topics: [], redis: false });
    brokers = stack.kafka!.brokers;
  }
});
after(async () => {
  await stack?.stop();
});

interface DeadLetter {
  key: string;
  value: string;
  reason: string;
}

/** A simulator, one ingest shard and a consumer of both of its topics, all fresh. */
async function rig(sim: Partial<BinanceSimOptions>, ingest: Partial<IngestOptions>, kafkaBrokers = brokers) {
  const brokers = kafkaBrokers;
  const topic = `ob_ingest_${randomUUID().slice(0, 8)}`;
  const dlq = deadLetterTopicOf({ deadLetterTopic: "{topic}.dlq", kafkaTopic: topic });
  await createTopics(brokers, [
    { name: topic, partitions: 30 },
    { name: dlq, partitions: 1 },
  ]);
  const server = await startBinanceSim(sim);
  const records = new Map<string, BookUpdateFields[]>();
  const deadLetters: DeadLetter[] = [];
  const kafka = new Kafka({ clientId: "ingest-test", brokers, logLevel: logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: `t-${topic}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic, dlq], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic: t, message }) => {
      if (t === dlq) {
        deadLetters.push({
          key: message.key?.toString() ?? "",
          value: message.value!.toString(),
          reason: message.headers!["qc-reason"]!.toString(),
        });
        return;
      }
      const r = decodeBookUpdate(message.value!);
      const list = records.get(r.symbol) ?? [];
      records.set(r.symbol, list);
      list.push(r);
    },
  });
  const service: IngestService = createIngestService({
    wsBaseUrl: server.wsUrl,
    restBaseUrl: server.restUrl,
    kafkaBrokers: brokers,
    kafkaTopic: topic,
    reconnectInitialDelayMs: 100,
    reconnectMaxDelayMs: 1_000,
    ...ingest,
  });
  await service.start();
  return {
    sim: server,
    service,
    records,
    deadLetters,
    resets: (s: string) => (records.get(s) ?? []).filter((r) => r.kind === BookUpdateKind.RESET).length,
    async close() {
      await service.stop();
      await server.close();
      await consumer.disconnect();
    },
  };
}

/**
 * The invariant of a correct ingest: after a symbol's RESET every UPDATE continues the previous
 * record's id exactly (U == previous u + 1, as Binance defines it), so no book with a hole is
 * ever published. Returns the number of records checked.
 */
function assertContiguous(records: Map<string, BookUpdateFields[]>): number {
  let n = 0;
  for (const [symbol, list] of records) {
    assert.equal(list[0]?.kind, BookUpdateKind.RESET, `${symbol}: the first record is a RESET`);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      const r = list[i]!;
      n++;
      if (r.kind === BookUpdateKind.RESET) continue;
      assert.equal(
        r.firstUpdateId,
        prev.updateId + 1n,
        `${symbol}: record ${i} U=${r.firstUpdateId} after u=${prev.updateId}`,
      );
      assert.ok(r.bids[0]!.price < r.asks[0]!.price, `${symbol}: crossed book published at ${r.updateId}`);
    }
  }
  return n;
}

const SYNTHETIC = ["SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT"];
const allSynced = (rg: { resets: (s: string) => number; records: Map<string, BookUpdateFields[]> }, n = 1) =>
  SYNTHETIC.every((s) => rg.resets(s) >= n && (rg.records.get(s)?.length ?? 0) > 5);

/** A rig serving SYNTHETIC books, run through `body` once every book is synced, then closed. */
async function withSyncedRig(
  body: (rg: Awaited<ReturnType<typeof rig>>) => Promise<void>,
  sim: Partial<BinanceSimOptions> = {},
  ingest: Partial<IngestOptions> = {},
  kafkaBrokers = brokers,
) {
  const rg = await rig(
    { syntheticSymbols: SYNTHETIC, syntheticUpdatesPerSecond: 20, ...sim },
    { symbols: SYNTHETIC, ...ingest },
    kafkaBrokers,
  );
  try {
    await waitFor(() => allSynced(rg), "every book synced", { timeoutMs: 30_000 });
    await body(rg);
  } finally {
    await rg.close();
  }
}

/** Recorded bookTicker frames, read straight from the files (not through our parser). */
async function recordedTickers(file: string) {
  const tickers = new Map<number, { b: string; B: string; a: string; A: string }>();
  let lastDepthId = 0;
  const rl = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of rl) {
    const json = line.slice(line.indexOf(" ") + 1);
    if (!json.startsWith('{"stream"')) continue;
    const f = JSON.parse(json) as { stream: string; data: { u: number; b: unknown; B: string; a: unknown; A: string } };
    if (f.stream.endsWith("@bookTicker")) {
      const d = f.data as { u: number; b: string; B: string; a: string; A: string };
      tickers.set(d.u, { b: d.b, B: d.B, a: d.a, A: d.A });
    } else if (f.stream.includes("@depth")) lastDepthId = Math.max(lastDepthId, f.data.u);
  }
  return { tickers, lastDepthId };
}

for (const streamMode of ["diff", "partial"] as const) {
  test(`replayed recordings through ingest (${streamMode} depth): every published best bid/ask equals the recorded bookTicker of the same update id`, async () => {
    const files = defaultReplayFiles();
    const rg = await rig({ replayFiles: files, speed: 40 }, { symbols: ["BTCUSDT", "ETHUSDT"], streamMode });
    try {
      for (const [symbol, file] of [
        ["BTCUSDT", files[0]!],
        ["ETHUSDT", files[1]!],
      ] as const) {
        const { tickers, lastDepthId } = await recordedTickers(file);
        await waitFor(
          () => rg.records.get(symbol)?.some((r) => r.updateId >= BigInt(lastDepthId)) ?? false,
          `${symbol} published up to the recording's last id ${lastDepthId}`,
          { timeoutMs: 90_000 },
        );
        let matched = 0;
        for (const r of rg.records.get(symbol)!) {
          const t = tickers.get(Number(r.updateId));
          if (!t) continue;
          matched++;
          const got = `${r.bids[0]!.price},${r.bids[0]!.quantity}/${r.asks[0]!.price},${r.asks[0]!.quantity}`;
          const want = `${Number(t.b)},${Number(t.B)}/${Number(t.a)},${Number(t.A)}`;
          assert.equal(got, want, `${symbol}@${r.updateId}`);
        }
        // Diff mode publishes after every event; partial frames are derived every event too.
        assert.ok(matched >= 200, `${symbol}: only ${matched} published books shared an id with a bookTicker`);
      }
      if (streamMode === "diff") assertContiguous(rg.records);
      const st = rg.service.stats();
      assert.equal(st.gaps, 0);
      assert.deepEqual(st.rejected, {});
    } finally {
      await rg.close();
    }
  });
}

test("USD-M recording through ingest (pu chaining, /fapi/v1/depth): no gap, and every published best bid/ask equals the recorded bookTicker", async () => {
  const file = path.join(path.dirname(defaultReplayFiles()[0]!), "usdm_btcusdt_20240808.gz");
  const rg = await rig({ replayFiles: [file], speed: 40 }, { symbols: ["BTCUSDT"], market: "usdm" });
  try {
    const { tickers, lastDepthId } = await recordedTickers(file);
    await waitFor(
      () => rg.records.get("BTCUSDT")?.some((r) => r.updateId >= BigInt(lastDepthId)) ?? false,
      `BTCUSDT published up to the recording's last id ${lastDepthId}`,
      { timeoutMs: 90_000 },
    );
    let matched = 0;
    for (const r of rg.records.get("BTCUSDT")!) {
      const t = tickers.get(Number(r.updateId));
      if (!t) continue;
      matched++;
      const got = `${r.bids[0]!.price},${r.bids[0]!.quantity}/${r.asks[0]!.price},${r.asks[0]!.quantity}`;
      assert.equal(got, `${Number(t.b)},${Number(t.B)}/${Number(t.a)},${Number(t.A)}`, `BTCUSDT@${r.updateId}`);
    }
    const st = rg.service.stats();
    assert.ok(matched >= 200, `only ${matched} published books shared an id with a bookTicker`);
    assert.equal(st.gaps, 0, "pu chained across the whole recording");
    assert.equal(st.resets, 1);
    assert.deepEqual(st.rejected, {});
  } finally {
    await rg.close();
  }
});

test("a dropped frame: the gap is caught on the next event, that symbol alone is rebuilt, no holed book reaches Kafka", () =>
  withSyncedRig(async (rg) => {
    rg.sim.faults.dropNext("XRPUSDT");
    await waitFor(
      () => rg.resets("XRPUSDT") === 2 && (rg.records.get("XRPUSDT")?.at(-1)?.kind ?? 0) !== BookUpdateKind.RESET,
      "XRPUSDT rebuilt and updating again",
      { timeoutMs: 30_000 },
    );
    const st = rg.service.stats();
    assert.equal(st.gaps, 1);
    for (const s of SYNTHETIC.filter((x) => x !== "XRPUSDT")) assert.equal(rg.resets(s), 1, `${s} was not rebuilt`);
    assert.equal(st.reconnects, 0, "the connection carried on");
    assert.ok(assertContiguous(rg.records) > 20);
  }));

test("a disconnect: reconnect with backoff, every book of the connection rebuilt, ids contiguous between resets", () =>
  withSyncedRig(async (rg) => {
    rg.sim.faults.disconnectAll(1001, "going away");
    await waitFor(() => rg.service.stats().reconnects === 1 && allSynced(rg, 2), "reconnected and every book rebuilt", {
      timeoutMs: 30_000,
    });
    assert.ok(assertContiguous(rg.records) > 20);
  }));

test("connection rotation (24 h made 3 s) and serverShutdown: overlapping handover, no update id missed, no book rebuilt", () =>
  withSyncedRig(
    async (rg) => {
      await waitFor(() => rg.service.stats().rotations >= 3, "three rotations", { timeoutMs: 30_000 });
      rg.sim.faults.sendServerShutdown();
      await waitFor(() => rg.service.stats().rotations >= 4, "serverShutdown rotation", { timeoutMs: 10_000 });
      const before = new Map(SYNTHETIC.map((s) => [s, rg.records.get(s)!.length]));
      await waitFor(
        () => SYNTHETIC.every((s) => rg.records.get(s)!.length > before.get(s)! + 10),
        "updates flowing on the new connection",
        { timeoutMs: 10_000 },
      );
      const st = rg.service.stats();
      assert.equal(st.gaps, 0);
      assert.equal(st.reconnects, 0, "the server's 3 s close never hit a live connection");
      assert.equal(st.forcedHandovers, 0, "every symbol moved on proven continuity, not at the deadline");
      for (const s of SYNTHETIC) assert.equal(rg.resets(s), 1, `${s} was rebuilt`);
      assert.ok(assertContiguous(rg.records) > 100);
    },
    { maxConnectionLifetimeMs: 3_000 },
    { rotateAfterMs: 1_500, rotationOverlapMaxMs: 1_000 },
  ));

test("bad frames: counted per reason, kept raw on the dead-letter topic, and the books carry on", () =>
  withSyncedRig(async (rg) => {
    const w = (data: string) => `{"stream":"solusdt@depth@100ms","data":${data}}`;
    const bad = [
      ["first_after_final", w('{"e":"depthUpdate","E":1,"s":"SOLUSDT","U":9,"u":8,"b":[],"a":[]}')],
      ["malformed_json", w('{"e":"depthUpdate","E":1,"s":"SOLUSDT"')],
      ["bad_number", w('{"e":"depthUpdate","E":1,"s":"SOLUSDT","U":1,"u":2,"b":[["1e400","1"]],"a":[]}')],
      ["negative", w('{"e":"depthUpdate","E":1,"s":"SOLUSDT","U":1,"u":2,"b":[["1","-1"]],"a":[]}')],
      ["bad_number", w('{"e":"depthUpdate","E":1,"s":"SOLUSDT","U":1,"u":2,"b":[["0x10","1"]],"a":[]}')],
      [
        "id_out_of_range",
        w('{"e":"depthUpdate","E":1,"s":"SOLUSDT","U":9007199254740993,"u":9007199254740994,"b":[],"a":[]}'),
      ],
    ] as const;
    for (const [, text] of bad) rg.sim.faults.injectRaw("SOLUSDT", text);
    await waitFor(() => rg.deadLetters.length >= bad.length, "dead letters", { timeoutMs: 15_000 });
    const st = rg.service.stats();
    for (const [reason, text] of bad) {
      const dl = rg.deadLetters.find((d) => d.value === text);
      assert.ok(dl, `${reason}: raw frame on the dead-letter topic`);
      assert.equal(dl.key, "SOLUSDT");
      assert.ok((st.rejected as Record<string, number>)[dl.reason]! >= 1, `${dl.reason} counted`);
    }
    assert.deepEqual(
      rg.deadLetters.map((d) => d.reason).sort(),
      bad.map(([r]) => r as string).sort(),
      "each frame refused for its own reason",
    );
    const count = rg.records.get("SOLUSDT")!.length;
    await waitFor(() => rg.records.get("SOLUSDT")!.length > count + 5, "SOLUSDT still updating", { timeoutMs: 10_000 });
    assert.equal(rg.resets("SOLUSDT"), 1, "bad frames that carry no update do not cost a rebuild");
    assertContiguous(rg.records);
  }));

test("Kafka unreachable: the backlog stays within its bound, books wait, and after recovery each is rebuilt (RESET) rather than published with a hole", async () => {
  // A broker of its own, frozen with SIGSTOP: connections stay open but nothing answers.
  const kafka = await startKafka();
  const maxQueuedRecords = 300;
  let frozen = false;
  try {
    await withSyncedRig(
      async (rg) => {
        process.kill(kafka.pid, "SIGSTOP");
        frozen = true;
        let maxBacklog = 0;
        await waitFor(
          () => {
            const st = rg.service.stats();
            maxBacklog = Math.max(maxBacklog, st.producerBacklog);
            return st.droppedWhileBackedUp > 200;
          },
          "ingest holding books back while Kafka is frozen",
          { timeoutMs: 30_000, intervalMs: 20 },
        );
        assert.ok(maxBacklog <= maxQueuedRecords, `backlog ${maxBacklog} > bound ${maxQueuedRecords}`);
        assert.ok(maxBacklog >= maxQueuedRecords / 2, `the bound was reached (${maxBacklog})`);
        process.kill(kafka.pid, "SIGCONT");
        frozen = false;
        await waitFor(
          () => SYNTHETIC.every((s) => rg.resets(s) >= 2 && rg.records.get(s)!.at(-1)!.kind === BookUpdateKind.UPDATE),
          "every book rebuilt and updating after Kafka came back",
          { timeoutMs: 60_000 },
        );
        assert.equal(rg.service.stats().gaps, 0, "no sequence gap: the holes were Kafka's, handled by rebuilding");
        assert.ok(assertContiguous(rg.records) > 100);
      },
      { syntheticUpdatesPerSecond: 50 },
      { maxQueuedRecords },
      kafka.brokers,
    );
  } finally {
    if (frozen) process.kill(kafka.pid, "SIGCONT");
    await kafka.stop();
  }
});
