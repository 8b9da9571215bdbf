import { logLevel, type Kafka, type Consumer, type EachBatchPayload } from "kafkajs";
import type { Registry } from "prom-client";
import { decodeBookUpdate, type BookUpdateFields } from "@quantcore/proto";
import {
  QuantCoreError,
  createLogger,
  nowUs,
  retry,
  settlesWithin,
  type ComputeHeartbeat,
  createKafka,
} from "@quantcore/runtime";
import { StateFlusher, type FetchedBatch } from "./flusher.js";
import { LagProbe } from "./lag.js";
import { createComputeMetrics } from "./metrics.js";
import type { ComputeStats } from "./stats.js";
import { OffsetTracker } from "./offsets.js";
import { DEFAULT_COMPUTE_OPTIONS, type ComputeOptions } from "./options.js";
import { RedisStateWriter, type StateWrite } from "./redis-writer.js";
import { SignalEngine } from "./signals.js";

const STOP_STEP_TIMEOUT_MS = 10_000;
const log = createLogger("compute");

export type { ComputeStats };

export interface ComputeService {
  readonly options: Readonly<ComputeOptions>;
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): ComputeStats;
  /** Next offset to process per partition, for what this instance has written to Redis. */
  progress(): ReadonlyMap<number, bigint>;
  /** Prometheus metrics of this instance (served by the app on /metrics). */
  readonly metrics: Registry;
  /** Consuming (started, not stopping): /readyz. */
  ready(): boolean;
}

export function createComputeService(
  partial: Partial<ComputeOptions> = {},
  deps: { kafka?: Kafka } = {},
): ComputeService {
  const opts: ComputeOptions = { ...DEFAULT_COMPUTE_OPTIONS, ...partial };
  const kafka =
    deps.kafka ??
    createKafka({
      clientId: opts.kafkaClientId,
      brokers: opts.kafkaBrokers,
      logLevel: logLevel.WARN,
    });
  const writer = new RedisStateWriter(opts.redisUrl, opts.redisNamespace);
  const engine = new SignalEngine(opts);
  const counters = { records: 0, badRecords: 0, rewrites: 0 };
  let consumer: Consumer | undefined;
  let stopping = false;

  const offsets = new OffsetTracker(
    opts.kafkaTopic,
    () => consumer,
    async () => {
      const dirty = engine.takeDirty();
      try {
        await writer.saveOfi(dirty);
      } catch (err) {
        engine.markAllDirty();
        throw err;
      }
    },
  );
  // The newest write of every symbol this instance produced: after Redis restarts empty they
  // are written again, so symbols that send no further update are not lost.
  const latestWrites = new Map<string, StateWrite>();
  const flusher = new StateFlusher(writer, engine, {
    onWritten(batches, writes) {
      for (const w of writes) {
        const prev = latestWrites.get(w.symbol);
        if (!prev || w.epoch > prev.epoch || (w.epoch === prev.epoch && w.updateId > prev.updateId))
          latestWrites.set(w.symbol, w);
      }
      for (const b of batches) offsets.advance(b.partition, b.nextOffset);
    },
    async restoreOfi(symbols) {
      try {
        for (const [sym, stored] of await writer.loadOfi(symbols)) engine.restore(sym, stored);
      } catch (err) {
        log.warn("could not load stored OFI state; starting those windows empty", { err: String(err) });
      }
    },
  });

  const stopSignal = new AbortController();
  const rewriteLatest = async () => {
    engine.markAllDirty();
    // Redis errors are retriable (QuantCoreError.infra): retried with backoff until written or stopped.
    const n = await retry(() => writer.write([...latestWrites.values()]), {
      initialDelayMs: 50,
      maxDelayMs: 2_000,
      signal: stopSignal.signal,
    }).catch(() => 0);
    counters.rewrites += n;
    if (n > 0) log.warn("redis came back without our state; rewrote it", { symbols: n });
  };
  writer.onReconnect = () => void rewriteLatest();
  const stats = (): ComputeStats => ({
    ...counters,
    ...flusher.stats,
    pendingRecords: flusher.pendingRecords(),
    lagRecords: offsets.lag(),
  });
  const metrics = createComputeMetrics(stats, () => offsets.partitionLag());
  writer.onWriteSeconds = metrics.observeWrite;
  let running = false;

  const eachBatch = async (p: EachBatchPayload) => {
    const receiveUs = nowUs();
    const records: BookUpdateFields[] = [];
    for (const m of p.batch.messages) {
      counters.records++;
      try {
        if (!m.value) throw new Error("empty record");
        records.push(decodeBookUpdate(m.value));
      } catch (err) {
        counters.badRecords++;
        log.warn("undecodable record skipped", {
          offset: m.offset,
          err: err instanceof Error ? err.message : String(err),
        });
      }
    }
    const last = p.batch.messages.at(-1);
    if (!last) return;
    offsets.observeHighWatermark(p.batch.partition, BigInt(p.batch.highWatermark));
    const batch: FetchedBatch = {
      partition: p.batch.partition,
      nextOffset: BigInt(last.offset) + 1n,
      records,
      receiveUs,
    };
    // The fetch position moves on at once: the next fetch need not wait for Redis. What is
    // committed to Kafka moves only once Redis acknowledged (OffsetTracker).
    p.resolveOffset(last.offset);
    flusher.add(batch);
    await flusher.whenBelow(opts.maxPendingRecords);
    await p.heartbeat();
  };

  const lagProbe = new LagProbe(kafka, offsets, {
    topic: opts.kafkaTopic,
    groupId: opts.groupId,
    fromBeginning: opts.fromBeginning,
    intervalMs: opts.lagProbeIntervalMs,
  });
  let commitTimer: NodeJS.Timeout | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  let lastStatus = { atMs: Date.now(), records: 0 };
  const reportStatus = () => {
    const now = Date.now();
    const hb: ComputeHeartbeat = {
      instanceId: opts.instanceId,
      partitions: offsets.partitions(),
      updatedAtMs: now,
      recordsPerSecond: ((counters.records - lastStatus.records) * 1000) / Math.max(1, now - lastStatus.atMs),
      lagRecords: offsets.lag(),
      partitionLag: offsets.partitionLag(),
    };
    lastStatus = { atMs: now, records: counters.records };
    writer.reportStatus(opts.instanceId, JSON.stringify(hb)).catch(() => {}); // Redis away: next beat
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
      consumer.on(consumer.events.GROUP_JOIN, (e) => offsets.assign(e.payload.memberAssignment[opts.kafkaTopic] ?? []));
      // Offsets are committed only up to batches Redis acknowledged. Our own timer rather than
      // kafkajs's auto-commit, which only commits when another batch arrives: the tail of a
      // stream that goes quiet would otherwise stay uncommitted and be reprocessed on restart.
      commitTimer = setInterval(() => void offsets.commit(), opts.commitIntervalMs);
      statusTimer = setInterval(reportStatus, opts.statusIntervalMs);
      reportStatus();
      if (opts.lagProbeIntervalMs > 0) lagProbe.start();
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
      running = true;
    },
    async stop() {
      stopping = true;
      stopSignal.abort();
      clearInterval(commitTimer);
      clearInterval(statusTimer);
      // Each step is bounded: a broker or Redis that stopped answering must not hold the process.
      const step = async (what: string, p: Promise<unknown>) => {
        if (!(await settlesWithin(p, STOP_STEP_TIMEOUT_MS))) log.warn("shutdown step timed out", { what });
      };
      await step("lag probe", lagProbe.stop());
      if (consumer) await step("kafka consumer stop", consumer.stop());
      await step("writes in flight", flusher.stop());
      await step("in-flight offset commit", offsets.settled());
      await step("final offset commit", offsets.commit());
      await step("heartbeat removal", writer.reportStatus(opts.instanceId, undefined));
      if (consumer) await step("kafka consumer disconnect", consumer.disconnect());
      await step("redis close", writer.close());
    },
    stats,
    progress: () => offsets.written(),
    metrics: metrics.registry,
    ready: () => running && !stopping,
  };
}
