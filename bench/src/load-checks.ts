// The load bench's correctness checks, run on each point after its traffic stops and the
// pipeline has drained, from outside the pipeline:
//  - the topic: every record of the point read back; within a book epoch, each symbol's records
//    carry contiguous Binance ids (a record's first id is at most the previous last id + 1, and its
//    last id is past the previous one), and epochs never go backwards;
//  - dedup: the state in Redis of every symbol is the newest record of that symbol in the topic
//    (compute writes only the newest of each batch; it must never drop the newest of all);
//  - the recorded symbols (when replayed): every live update the client got under load has the
//    book and OBI of an independent rebuild of the recording at that update id.
import { logLevel } from "kafkajs";
import type { Redis } from "ioredis";
import { referenceObi, referenceTop, replayReference, spotReplayFile } from "@quantcore/binance-sim";
import { decodeBookUpdate } from "@quantcore/proto";
import { QuantCoreError, createKafka, redisKeys, waitFor } from "@quantcore/runtime";
import type { SeenBook } from "./load-protocol.js";

export interface PointChecks {
  kafkaRecords: number;
  /** Within an epoch: a record whose first id is past the previous record's last id + 1. */
  gaps: number;
  /** Within an epoch: a record whose last id is not past the previous one. */
  idsNotIncreasing: number;
  epochsBackwards: number;
  /** Symbols whose Redis state is the newest record in the topic, of the symbols in the topic. */
  newestInRedis: string;
  /** Live updates of the recorded symbols checked against the rebuild, and those that differ. */
  recordedChecked: number;
  recordedMismatched: number;
  /** The first few problems found, to start from. */
  problems: string[];
}

interface Newest {
  epoch: bigint;
  id: bigint;
}

/** Reads every record of `topic` (up to its current end) and checks each symbol's id sequence. */
async function scanTopic(brokers: string[], topic: string, checks: PointChecks): Promise<Map<string, Newest>> {
  const kafka = createKafka({ clientId: "bench-load-checks", brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
  await admin.disconnect();
  const next = new Map<number, bigint>([...ends.keys()].map((p) => [p, 0n]));
  const newest = new Map<string, Newest & { first: bigint }>();
  const consumer = kafka.consumer({ groupId: `${topic}-checks`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (!m.value) continue;
          const r = decodeBookUpdate(m.value);
          const epoch = r.bookEpoch ?? 0n;
          checks.kafkaRecords++;
          const prev = newest.get(r.symbol);
          const at = `${r.symbol} epoch ${epoch} ids ${r.firstUpdateId}..${r.updateId}`;
          if (prev && epoch < prev.epoch) {
            checks.epochsBackwards++;
            note(checks, `${at} after epoch ${prev.epoch}`);
          } else if (prev && epoch === prev.epoch) {
            if (r.firstUpdateId > prev.id + 1n) {
              checks.gaps++;
              note(checks, `${at}: gap after ${prev.id}`);
            }
            if (r.updateId <= prev.id) {
              checks.idsNotIncreasing++;
              note(checks, `${at}: not past ${prev.id}`);
            }
          }
          if (!prev || epoch > prev.epoch || (epoch === prev.epoch && r.updateId > prev.id))
            newest.set(r.symbol, { epoch, id: r.updateId, first: r.firstUpdateId });
        }
        next.set(batch.partition, BigInt(batch.lastOffset()) + 1n);
      },
    });
    await waitFor(async () => [...ends].every(([p, end]) => (next.get(p) ?? 0n) >= end), `${topic} read back`, {
      timeoutMs: 300_000,
      intervalMs: 200,
    });
  } finally {
    await consumer.disconnect();
  }
  return newest;
}

function note(checks: PointChecks, problem: string): void {
  if (checks.problems.length < 5) checks.problems.push(problem);
}

/** Redis's (epoch, id) of every symbol against the newest record of the topic. */
async function checkNewest(redis: Redis, namespace: string, newest: Map<string, Newest>, checks: PointChecks) {
  const keys = redisKeys(namespace);
  const [ids, epochs] = await Promise.all([redis.hgetall(keys.ids), redis.hgetall(keys.epochs)]);
  let same = 0;
  for (const [symbol, n] of newest) {
    const id = ids[symbol];
    const epoch = BigInt(epochs[symbol] ?? "0");
    if (id !== undefined && BigInt(id) === n.id && epoch === n.epoch) same++;
    else
      note(
        checks,
        `${symbol}: Redis holds epoch ${epoch} id ${id ?? "none"}, newest in Kafka epoch ${n.epoch} id ${n.id}`,
      );
  }
  checks.newestInRedis = `${same} of ${newest.size}`;
}

/** The client's updates of a recorded spot symbol against the rebuild at each one's id. */
async function checkRecorded(symbol: "BTCUSDT" | "ETHUSDT", seen: SeenBook[], checks: PointChecks) {
  const wanted = new Map<number, SeenBook[]>();
  for (const b of seen) if (b.symbol === symbol) wanted.set(b.id, [...(wanted.get(b.id) ?? []), b]);
  if (wanted.size === 0) return;
  await replayReference(spotReplayFile(symbol.toLowerCase() as "btcusdt" | "ethusdt"), (id, book) => {
    const got = wanted.get(id);
    if (!got) return;
    wanted.delete(id);
    const { bid, ask } = referenceTop(book);
    const obi1 = referenceObi(book, 1);
    const obi20 = referenceObi(book, 20);
    for (const b of got) {
      checks.recordedChecked++;
      const same =
        bid !== undefined &&
        ask !== undefined &&
        b.bid[0] === bid[0] &&
        b.bid[1] === bid[1] &&
        b.ask[0] === ask[0] &&
        b.ask[1] === ask[1] &&
        Math.abs(b.obi1 - obi1!) <= 1e-12 &&
        Math.abs(b.obi20 - obi20!) <= 1e-12;
      if (!same) {
        checks.recordedMismatched++;
        note(
          checks,
          `${symbol}@${id}: got ${JSON.stringify(b)}, rebuild bid ${bid} ask ${ask} obi1 ${obi1} obi20 ${obi20}`,
        );
      }
    }
    return wanted.size === 0;
  });
  // Ids the recording never reached: published books that are in no rebuilt state.
  for (const [id, got] of wanted) {
    checks.recordedChecked += got.length;
    checks.recordedMismatched += got.length;
    note(checks, `${symbol}@${id}: not an update id of the recording`);
  }
}

export async function checkPoint(o: {
  brokers: string[];
  topic: string;
  redis: Redis;
  namespace: string;
  recorded: SeenBook[];
}): Promise<PointChecks> {
  const checks: PointChecks = {
    kafkaRecords: 0,
    gaps: 0,
    idsNotIncreasing: 0,
    epochsBackwards: 0,
    newestInRedis: "",
    recordedChecked: 0,
    recordedMismatched: 0,
    problems: [],
  };
  try {
    const newest = await scanTopic(o.brokers, o.topic, checks);
    await checkNewest(o.redis, o.namespace, newest, checks);
    for (const symbol of ["BTCUSDT", "ETHUSDT"] as const) await checkRecorded(symbol, o.recorded, checks);
  } catch (err) {
    throw QuantCoreError.infra("load checks", err);
  }
  return checks;
}
