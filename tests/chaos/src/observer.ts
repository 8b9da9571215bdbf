// The fault suite's independent observer, in its own process: a gRPC stream on every gateway, a
// Kafka reader of the whole topic and a Redis poller, each appending what it sees to the history
// file (see history.ts). It judges nothing. Driven over IPC: "drain" reads Kafka up to the end
// offsets of the moment, closes the file and answers "drained".
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import kafkajs from "kafkajs";
import {
  MarketDataService,
  SIGNAL_FIELDS,
  decodeBookUpdate,
  BookUpdateKind,
  type MarketUpdate,
} from "@quantcore/proto";
import { EnvReader, sleep, waitFor, createKafka } from "@quantcore/runtime";
import { HistoryWriter } from "./history.js";

const { logLevel } = kafkajs;

export type ToObserver = { kind: "progress" } | { kind: "drain" };
export type FromObserver =
  | { kind: "progress"; liveSymbols: Record<string, number>; kafkaRecords: number; redisSymbols: number }
  | { kind: "drained"; events: number };

const env = new EnvReader();
const file = env.string("OBSERVER_HISTORY");
const gateways = env.list("OBSERVER_GATEWAYS", []); // name=http://host:port
const brokers = env.list("KAFKA_BROKERS", []);
const topic = env.string("KAFKA_TOPIC");
const redisUrl = env.string("REDIS_URL");
const ns = env.string("REDIS_NAMESPACE");
const pollMs = env.int("OBSERVER_REDIS_POLL_MS", 200, { min: 20 });
const idleTimeoutMs = env.int("OBSERVER_STREAM_IDLE_TIMEOUT_MS", 10_000, { min: 1000 });
env.done();

const out = new HistoryWriter(file);
let stopping = false;
const liveSymbols = new Map<string, Set<string>>();
let kafkaRecords = 0;
const now = () => Date.now();

function onUpdate(stream: string, gw: string, u: MarketUpdate): void {
  const s = u.signals;
  const bad = s ? SIGNAL_FIELDS.filter((f) => typeof s[f] === "number" && !Number.isFinite(s[f])) : [];
  out.write({
    t: now(),
    type: "update",
    stream,
    symbol: u.symbol,
    epoch: String(u.bookEpoch),
    id: String(u.updateId),
    snapshot: u.snapshot,
    late: u.late,
    ...(s?.bestBidPrice !== undefined ? { bid: s.bestBidPrice } : {}),
    ...(s?.bestAskPrice !== undefined ? { ask: s.bestAskPrice } : {}),
    ...(bad.length ? { bad: [...bad] } : {}),
  });
  if (!u.snapshot) (liveSymbols.get(gw) ?? liveSymbols.set(gw, new Set()).get(gw)!).add(u.symbol);
}

async function streamLoop(name: string, baseUrl: string): Promise<void> {
  const client = createClient(MarketDataService, createGrpcTransport({ baseUrl }));
  for (let n = 0; !stopping; n++) {
    const stream = `${name}#${n}`;
    const abort = new AbortController();
    // Every stream has a deadline: silence (not even a keepalive) this long ends it.
    let idle = setTimeout(() => abort.abort(), idleTimeoutMs);
    out.write({ t: now(), type: "connect", stream, gateway: name });
    let reason = "ended";
    try {
      for await (const res of client.streamMarketUpdates(
        { symbols: [], allowBatches: false, keepaliveIntervalMs: 1000 },
        { signal: abort.signal },
      )) {
        clearTimeout(idle);
        idle = setTimeout(() => abort.abort(), idleTimeoutMs);
        const e = res.event;
        if (e.case === "update") onUpdate(stream, name, e.value);
        else if (e.case === "batch") for (const u of e.value.updates) onUpdate(stream, name, u);
        else if (e.case === "reset") out.write({ t: now(), type: "reset", stream });
        else if (e.case === "status") {
          out.write({
            t: now(),
            type: "status",
            stream,
            symbol: e.value.symbol,
            state: e.value.state === 2 ? "STALE" : "LIVE",
            reason: e.value.reason,
          });
        }
      }
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(idle);
    }
    out.write({ t: now(), type: "end", stream, reason });
    if (!stopping) await sleep(500);
  }
}

/** Reads the topic from the start with its own group; every record becomes a "kafka" event. */
async function kafkaReader() {
  const kafka = createKafka({ clientId: "chaos-observer", brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `chaos-observer-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 100 });
  const positions = new Map<number, bigint>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const t = now();
      for (const m of batch.messages) {
        // Nothing is committed: after a rebalance the group starts over; what was read is skipped.
        if (!m.value || BigInt(m.offset) < (positions.get(batch.partition) ?? 0n)) continue;
        const f = decodeBookUpdate(m.value);
        kafkaRecords++;
        out.write({
          t,
          type: "kafka",
          partition: batch.partition,
          offset: m.offset,
          symbol: f.symbol,
          epoch: String(f.bookEpoch ?? 0n),
          id: String(f.updateId),
          reset: f.kind === BookUpdateKind.RESET,
        });
        positions.set(batch.partition, BigInt(m.offset) + 1n);
      }
    },
  });
  return {
    /** Waits until every partition was read up to its end offset of now. */
    async drain(): Promise<void> {
      const admin = kafka.admin();
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.disconnect();
      await waitFor(
        () => ends.every((e) => BigInt(e.high) === 0n || (positions.get(e.partition) ?? 0n) >= BigInt(e.high)),
        "the observer's Kafka reader at the end offsets",
        { timeoutMs: 300_000, intervalMs: 200 },
      );
      await consumer.disconnect();
    },
  };
}

/** Polls the stored (epoch, id) of every symbol; a change becomes a "redis" event. */
function redisPoller(): { stop(): void; symbols(): number } {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
  redis.on("error", () => {}); // Redis is killed on purpose; the poller keeps trying
  const last = new Map<string, string>();
  let stopped = false;
  void (async () => {
    while (!stopped) {
      try {
        const [ids, epochs] = await Promise.all([redis.hgetall(`${ns}:ids`), redis.hgetall(`${ns}:epochs`)]);
        const t = now();
        for (const [symbol, id] of Object.entries(ids)) {
          const epoch = epochs[symbol] ?? "0";
          const v = `${epoch}/${id}`;
          if (last.get(symbol) === v) continue;
          last.set(symbol, v);
          out.write({ t, type: "redis", symbol, epoch, id });
        }
        // A restarted (empty) Redis: forget, so the first value after it is recorded.
        for (const s of [...last.keys()]) if (!(s in ids)) last.delete(s);
      } catch {
        /* down: try again */
      }
      await sleep(pollMs);
    }
    redis.disconnect();
  })();
  return {
    stop: () => void (stopped = true),
    symbols: () => last.size,
  };
}

const reader = await kafkaReader();
const poller = redisPoller();
for (const g of gateways) {
  const [name, url] = g.split("=") as [string, string];
  void streamLoop(name, url);
}
const send = (m: FromObserver) => process.send?.(m);
process.on("message", (m: ToObserver) => {
  if (m.kind === "progress") {
    send({
      kind: "progress",
      liveSymbols: Object.fromEntries([...liveSymbols].map(([g, s]) => [g, s.size])),
      kafkaRecords,
      redisSymbols: poller.symbols(),
    });
  } else if (m.kind === "drain") {
    void (async () => {
      await reader.drain();
      stopping = true;
      poller.stop();
      await out.close();
      send({ kind: "drained", events: out.count });
      process.exit(0);
    })();
  }
});
for (const sig of ["SIGTERM", "SIGINT", "disconnect"] as const) process.on(sig, () => process.exit(0));
