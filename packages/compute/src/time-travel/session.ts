import type { Kafka } from "kafkajs";
import { type EachBatchPayload } from "kafkajs";
import type { Redis } from "ioredis";
import { decodeBookUpdate, encodeMarketUpdate, type BookUpdateFields } from "@quantcore/proto";
import {
  QuantCoreError,
  createLogger,
  nowUs,
  settlesWithin,
  type TimeTravelEnd,
  type TimeTravelRequest,
} from "@quantcore/runtime";
import type { ComputeOptions } from "../options.js";
import { deleteGroup } from "../kafka-groups.js";
import { SignalEngine, isNewer } from "../signals.js";
import { planRead, type PartitionRange } from "./plan.js";
import type { RateBudget } from "./budget.js";
import type { TimeTravelOptions } from "./options.js";
import { SessionStreamWriter } from "./stream-writer.js";

const log = createLogger("compute.time-travel");
/** Updates buffered before a write to the session stream (4 `updates` entries). */
const CHUNK_UPDATES = 256;
/** Records reserved at a time from the worker's total budget. */
const BUDGET_CHUNK = 100;
/**
 * A paced replay sends what is due within this much in one go, then waits: a wait (with its
 * write and its stream-length check, and the gateway's read) per record due cost both processes
 * more than the records themselves at 10x.
 */
export const PACE_STEP_MS = 20;
/** A session's Kafka fetches: at most this much per response, and per partition in it. */
const REPLAY_FETCH_MAX_BYTES = 1024 * 1024;
const REPLAY_FETCH_MAX_BYTES_PER_PARTITION = 64 * 1024;

export interface SessionDeps {
  kafka: Kafka;
  redis: Redis;
  namespace: string;
  topic: string;
  options: TimeTravelOptions;
  /** The worker's records/s shared by all its sessions. */
  budget: RateBudget;
  /** Compute's own signal settings: the replayed signals are the live ones. */
  signals: Pick<ComputeOptions, "signals" | "ofiWindowsMs" | "ofiMaxEvents">;
  signal: AbortSignal;
}

export interface SessionCounters {
  /** Records read from Kafka (warm-up included). */
  records: number;
  /** Updates written to the session stream. */
  updates: number;
  badRecords: number;
}

/** Where the replay of one symbol is: the last (epoch, id) it sent. */
interface Position {
  epoch: bigint;
  updateId: bigint;
}

/**
 * One time-travel session: reads the log from `startTimeUs - warmupMs` (OFI warm-up, nothing
 * sent) up to the end offsets taken when the session began, recomputes every record's
 * signals with compute's SignalEngine, and writes the updates from `startTimeUs` on to the
 * session stream, paced by `replaySpeed` and bounded in rate and in entries ahead of the
 * gateway; then the `end` entry. Throws QuantCoreError (rejected), SessionAbandoned, or the abort reason.
 */
export async function runSession(req: TimeTravelRequest, deps: SessionDeps, counters: SessionCounters): Promise<void> {
  const o = deps.options;
  const symbols = req.symbols.length > 0 ? new Set(req.symbols) : undefined;
  const startMs = Math.floor(req.startTimeUs / 1000);
  const admin = deps.kafka.admin();
  let ranges: PartitionRange[];
  try {
    await admin.connect();
    ranges = (await planRead(admin, deps.topic, startMs, o.warmupMs)).ranges;
  } catch (err) {
    throw err instanceof QuantCoreError ? err : QuantCoreError.infra("kafka admin", err);
  } finally {
    await settlesWithin(admin.disconnect(), 5_000);
  }

  let heartbeat: (() => Promise<void>) | undefined;
  const out = new SessionStreamWriter(deps.redis, deps.namespace, req.session, o, deps.signal, async () => {
    await heartbeat?.().catch(() => {});
  });
  const engine = new SignalEngine(deps.signals);
  const positions = new Map<string, Position>();
  let replayedUntilUs = 0;
  const pace = { firstRecordUs: 0, firstWallMs: 0 };
  const rate = { startedMs: Date.now(), records: 0 };

  const left = new Map(ranges.map((r) => [r.partition, r]));
  let finish: (err?: unknown) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    finish = (err) => (err === undefined ? resolve() : reject(err));
  });
  if (left.size === 0) finish();

  /** Holds the replay to `replaySpeed` (ingest receive time deltas), to the records/s cap and to the worker's budget. */
  const waitForTurn = async (recordUs: number) => {
    if (rate.records % BUDGET_CHUNK === 0) {
      const waitMs = deps.budget.reserve(BUDGET_CHUNK);
      if (waitMs >= 1) {
        await out.flush();
        await out.pause(waitMs);
      }
    }
    rate.records++;
    if (rate.records % 500 === 0) {
      const dueMs = rate.startedMs + (rate.records * 1000) / o.maxRecordsPerSecond;
      if (dueMs > Date.now()) {
        await out.flush();
        await out.pause(dueMs - Date.now());
      }
    }
    if (req.replaySpeed <= 0 || recordUs < req.startTimeUs) return;
    if (pace.firstRecordUs === 0) {
      pace.firstRecordUs = recordUs;
      pace.firstWallMs = Date.now();
      return;
    }
    const dueMs = pace.firstWallMs + (recordUs - pace.firstRecordUs) / 1000 / req.replaySpeed;
    if (dueMs > Date.now() + PACE_STEP_MS) {
      await out.flush();
      await out.pause(dueMs - Date.now());
    }
  };

  const onRecord = (rec: BookUpdateFields) => {
    const ofi = engine.trackOfi(rec);
    // Warm-up: counted, not sent. Once a symbol reached the start, every later record of it is sent
    // (a record re-sent by ingest may carry an earlier receive time than its neighbours).
    if (rec.ingestReceiveTimeUs < req.startTimeUs && !positions.has(rec.symbol)) return;
    const epoch = rec.bookEpoch ?? 0n;
    const at = positions.get(rec.symbol);
    if (at && !isNewer(epoch, rec.updateId, at.epoch, at.updateId)) return; // a re-sent record
    const u = engine.toUpdate(rec, ofi, nowUs());
    if (u.timestamps) {
      u.timestamps.computePublishUs = nowUs();
      // A placeholder the gateway overwrites in place with its send time (it relays the bytes, never decodes them).
      u.timestamps.gatewaySendUs = u.timestamps.computePublishUs;
    }
    out.addUpdate(encodeMarketUpdate(u));
    positions.set(rec.symbol, { epoch, updateId: rec.updateId });
    replayedUntilUs = Math.max(replayedUntilUs, rec.ingestReceiveTimeUs);
    counters.updates++;
  };

  const eachBatch = async (p: EachBatchPayload) => {
    heartbeat = p.heartbeat;
    const range = left.get(p.batch.partition);
    if (!range) return;
    try {
      for (const m of p.batch.messages) {
        if (deps.signal.aborted || !p.isRunning() || p.isStale()) return;
        const offset = BigInt(m.offset);
        if (offset < range.fromOffset) continue;
        if (offset >= range.endOffset) break;
        counters.records++;
        // The key is the symbol: other symbols are not even decoded.
        if (symbols && !(m.key && symbols.has(m.key.toString()))) {
          if (offset === range.endOffset - 1n) break;
          continue;
        }
        let rec: BookUpdateFields;
        try {
          if (!m.value) throw new Error("empty record");
          rec = decodeBookUpdate(m.value);
        } catch {
          counters.badRecords++;
          continue;
        }
        if (!symbols || symbols.has(rec.symbol)) {
          await waitForTurn(rec.ingestReceiveTimeUs);
          onRecord(rec);
          if (out.size() >= CHUNK_UPDATES) await out.flush();
        }
        if (offset === range.endOffset - 1n) break;
      }
      await out.flush();
      const last = p.batch.messages.at(-1);
      if (last && BigInt(last.offset) >= range.endOffset - 1n) {
        left.delete(p.batch.partition);
        p.pause();
        if (left.size === 0) finish();
      }
      await p.heartbeat();
    } catch (err) {
      finish(err);
    }
  };

  const groupId = `quantcore-tt-${deps.namespace}-${req.session}`;
  const consumer = deps.kafka.consumer({
    groupId,
    maxWaitTimeInMs: 100,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    // Small fetches: kafkajs decodes a whole fetch response at once, and the broker reads it in one
    // go; 30 partitions x 256 KB (7.5 MB) made a burst of both beside the live path at each fetch.
    maxBytes: REPLAY_FETCH_MAX_BYTES,
    maxBytesPerPartition: REPLAY_FETCH_MAX_BYTES_PER_PARTITION,
  });
  const timeout = setTimeout(
    () => finish(new QuantCoreError("unavailable", `replay still running after ${o.sessionTimeoutMs} ms; ended`)),
    o.sessionTimeoutMs,
  );
  const onAbort = () => finish(deps.signal.reason);
  deps.signal.addEventListener("abort", onAbort, { once: true });
  try {
    if (left.size > 0) {
      try {
        await consumer.connect();
        await consumer.subscribe({ topic: deps.topic, fromBeginning: false });
        await consumer.run({ autoCommit: false, eachBatchAutoResolve: true, eachBatch });
      } catch (err) {
        throw QuantCoreError.infra("kafka consumer", err);
      }
      for (const r of ranges)
        consumer.seek({ topic: deps.topic, partition: r.partition, offset: r.fromOffset.toString() });
      // Only the ranges' partitions are fetched.
      const others = (await kafkaPartitions(deps.kafka, deps.topic)).filter((p) => !left.has(p));
      if (others.length > 0) consumer.pause([{ topic: deps.topic, partitions: others }]);
    }
    await finished;
    await out.flush();
    const end: TimeTravelEnd = {
      positions: [...positions].map(([symbol, p]) => ({
        symbol,
        epoch: p.epoch.toString(),
        updateId: p.updateId.toString(),
      })),
      replayedUpdates: counters.updates,
      replayedUntilUs,
    };
    out.add("end", JSON.stringify(end));
    await out.flush();
  } finally {
    clearTimeout(timeout);
    deps.signal.removeEventListener("abort", onAbort);
    if (left.size > 0 || ranges.length > 0) {
      if (!(await settlesWithin(consumer.disconnect(), 10_000))) log.warn("session consumer did not stop in time");
      // The group holds no committed offsets: removed so session groups do not pile up.
      await deleteGroup(deps.kafka, groupId).catch((err: unknown) =>
        log.warn("session consumer group not deleted", { groupId, err: String(err) }),
      );
    }
  }
}

async function kafkaPartitions(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    return md.topics[0]?.partitions.map((p) => p.partitionId) ?? [];
  } finally {
    await settlesWithin(admin.disconnect(), 5_000);
  }
}
