import { toBinary } from "@bufbuild/protobuf";
import { Kafka, logLevel, type Consumer, type EachBatchPayload } from "kafkajs";
import { MarketUpdateSchema, decodeBookUpdate, type BookUpdateFields } from "@quantcore/proto";
import { QuantCoreError, backoffDelayMs, createLogger, nowUs, settlesWithin, sleep } from "@quantcore/runtime";
import { DEFAULT_COMPUTE_OPTIONS, type ComputeOptions } from "./options.js";
import { RedisStateWriter, type StateWrite } from "./redis-writer.js";
import { SignalEngine } from "./signals.js";

const STOP_STEP_TIMEOUT_MS = 10_000;
const log = createLogger("compute");

export interface ComputeStats {
  records: number;
  badRecords: number;
  batches: number;
  writesAttempted: number;
  writesApplied: number;
  /** Updates not written because a newer one of the same symbol was in the same batch. */
  writesSavedByDedup: number;
  redisRetries: number;
  /** Symbols rewritten after Redis came back without them. */
  rewrites: number;
}

export interface ComputeService {
  readonly options: Readonly<ComputeOptions>;
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): ComputeStats;
  /** Next offset to process per partition, for what this instance has written to Redis. */
  progress(): ReadonlyMap<number, bigint>;
}

export function createComputeService(
  partial: Partial<ComputeOptions> = {},
  deps: { kafka?: Kafka } = {},
): ComputeService {
  const opts: ComputeOptions = { ...DEFAULT_COMPUTE_OPTIONS, ...partial };
  const kafka =
    deps.kafka ?? new Kafka({ clientId: opts.kafkaClientId, brokers: opts.kafkaBrokers, logLevel: logLevel.WARN });
  const writer = new RedisStateWriter(opts.redisUrl, opts.redisNamespace);
  const engine = new SignalEngine(opts);
  const stats: ComputeStats = {
    records: 0,
    badRecords: 0,
    batches: 0,
    writesAttempted: 0,
    writesApplied: 0,
    writesSavedByDedup: 0,
    redisRetries: 0,
    rewrites: 0,
  };
  let consumer: Consumer | undefined;
  let stopping = false;

  /** Retries until Redis acknowledges: offsets are resolved only after that. */
  const writeUntilAcked = async (writes: StateWrite[], p: EachBatchPayload): Promise<boolean> => {
    for (let attempt = 0; ; attempt++) {
      try {
        // Not `+= await`: that reads the counter before awaiting and loses concurrent batches' counts.
        const written = await writer.write(writes);
        stats.writesApplied += written;
        return true;
      } catch (err) {
        const e = err instanceof QuantCoreError ? err : QuantCoreError.infra("redis", err);
        if (!e.retriable || stopping || !p.isRunning() || p.isStale()) return false;
        stats.redisRetries++;
        const delayMs = backoffDelayMs(attempt, { initialDelayMs: 50, maxDelayMs: 2_000, multiplier: 2 });
        log.warn("redis write failed; retrying without committing", { err: e.message, delayMs });
        await sleep(delayMs);
        await p.heartbeat().catch(() => {});
      }
    }
  };

  // The newest write of every symbol this instance produced: after Redis restarts empty they
  // are written again, so symbols that send no further update are not lost.
  const latestWrites = new Map<string, StateWrite>();
  const progress = new Map<number, bigint>();
  const committed = new Map<number, bigint>();
  let assigned = new Set<number>();
  let commitTimer: NodeJS.Timeout | undefined;
  // The commit in flight, if any: stop() waits for it, since a kafkajs request still in flight
  // during disconnect reconnects the client and leaves it open (tulios/kafkajs#1438).
  let inFlightCommit: Promise<void> | undefined;
  const commitProgress = async (): Promise<void> => {
    if (!consumer || inFlightCommit) return inFlightCommit;
    const c = consumer;
    const due = [...progress].filter(([p, next]) => assigned.has(p) && next > (committed.get(p) ?? -1n));
    if (due.length === 0) return;
    inFlightCommit = (async () => {
      try {
        await c.commitOffsets(
          due.map(([partition, next]) => ({ topic: opts.kafkaTopic, partition, offset: next.toString() })),
        );
        for (const [p, next] of due) committed.set(p, next);
      } catch (err) {
        // A rebalance in progress, or the broker away: the next tick retries.
        log.debug("offset commit deferred", { err: err instanceof Error ? err.message : String(err) });
      } finally {
        inFlightCommit = undefined;
      }
    })();
    return inFlightCommit;
  };
  const rewriteLatest = async () => {
    for (let attempt = 0; !stopping; attempt++) {
      try {
        const n = await writer.write([...latestWrites.values()]);
        stats.rewrites += n;
        if (n > 0) log.warn("redis came back without our state; rewrote it", { symbols: n });
        return;
      } catch {
        await sleep(backoffDelayMs(attempt, { initialDelayMs: 50, maxDelayMs: 2_000, multiplier: 2 }));
      }
    }
  };
  writer.onReconnect = () => void rewriteLatest();

  const eachBatch = async (p: EachBatchPayload) => {
    const receiveUs = nowUs();
    const records: BookUpdateFields[] = [];
    for (const m of p.batch.messages) {
      stats.records++;
      try {
        if (!m.value) throw new Error("empty record");
        records.push(decodeBookUpdate(m.value));
      } catch (err) {
        stats.badRecords++;
        log.warn("undecodable record skipped", {
          offset: m.offset,
          err: err instanceof Error ? err.message : String(err),
        });
      }
    }
    // Symbols this instance has not seen yet (start, rebalance): continue their stored OFI.
    const unseen = [...new Set(records.map((r) => r.symbol))].filter((sym) => !engine.has(sym));
    if (unseen.length > 0) {
      try {
        for (const [sym, st] of await writer.loadOfi(unseen)) engine.restore(sym, st.updateId, st.ofi);
      } catch (err) {
        log.warn("could not load stored OFI state; starting those windows empty", { err: String(err) });
      }
    }
    // Every record feeds OFI; only the newest of each symbol becomes a write (per-batch dedup).
    const newest = new Map<string, { rec: BookUpdateFields; ofi: number[] | undefined }>();
    for (const rec of records) {
      const ofi = engine.trackOfi(rec);
      const prev = newest.get(rec.symbol);
      if (prev) stats.writesSavedByDedup++;
      if (!prev || rec.updateId >= prev.rec.updateId) newest.set(rec.symbol, { rec, ofi });
    }
    const latest = [...newest.values()].map(({ rec, ofi }) => engine.toUpdate(rec, ofi, receiveUs));
    const writes: StateWrite[] = [];
    const publishUs = nowUs();
    for (const u of latest) {
      if (u.timestamps) u.timestamps.computePublishUs = publishUs;
      const w = {
        symbol: u.symbol,
        updateId: u.updateId,
        payload: toBinary(MarketUpdateSchema, u),
        ofi: engine.ofiSnapshot(u.symbol),
      };
      writes.push(w);
    }
    stats.writesAttempted += writes.length;
    if (!(await writeUntilAcked(writes, p))) return; // not acked: leave offsets unresolved
    for (const w of writes) {
      const prev = latestWrites.get(w.symbol);
      if (!prev || w.updateId > prev.updateId) latestWrites.set(w.symbol, w);
    }
    const last = p.batch.messages.at(-1);
    if (last) {
      p.resolveOffset(last.offset);
      progress.set(p.batch.partition, BigInt(last.offset) + 1n);
      // A partition's first progress is committed at once: until then a takeover would start
      // it from the reset policy rather than from here.
      if (!committed.has(p.batch.partition)) void commitProgress();
    }
    stats.batches++;
    await p.heartbeat();
  };

  return {
    options: opts,
    async start() {
      await writer.connect();
      consumer = kafka.consumer({
        groupId: opts.groupId,
        maxWaitTimeInMs: opts.maxWaitTimeInMs,
        sessionTimeout: opts.sessionTimeoutMs,
        heartbeatInterval: opts.heartbeatIntervalMs,
        minBytes: 1,
      });
      try {
        await consumer.connect();
        await consumer.subscribe({ topic: opts.kafkaTopic, fromBeginning: opts.fromBeginning });
      } catch (err) {
        throw QuantCoreError.infra("kafka consumer", err);
      }
      // A rebalance may hand our partitions to another instance: forget what we held so we
      // never commit an offset for a partition we no longer own.
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        assigned = new Set(e.payload.memberAssignment[opts.kafkaTopic] ?? []);
        progress.clear();
        committed.clear();
      });
      // Offsets are committed only up to batches Redis acknowledged. Our own timer rather than
      // kafkajs's auto-commit, which only commits when another batch arrives: the tail of a
      // stream that goes quiet would otherwise stay uncommitted and be reprocessed on restart.
      commitTimer = setInterval(() => void commitProgress(), opts.commitIntervalMs);
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently,
        eachBatch,
      });
    },
    async stop() {
      stopping = true;
      clearInterval(commitTimer);
      // Each step is bounded: a broker or Redis that stopped answering must not hold the process.
      const step = async (what: string, p: Promise<unknown>) => {
        if (!(await settlesWithin(p, STOP_STEP_TIMEOUT_MS))) log.warn("shutdown step timed out", { what });
      };
      await step("in-flight offset commit", inFlightCommit ?? Promise.resolve());
      await step("final offset commit", commitProgress());
      if (consumer) await step("kafka consumer disconnect", consumer.disconnect());
      await step("redis close", writer.close());
    },
    stats: () => ({ ...stats }),
    progress: () => progress,
  };
}
