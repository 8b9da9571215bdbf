import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Kafka, logLevel, type Consumer, type EachBatchPayload } from "kafkajs";
import { BookUpdateSchema, MarketUpdateSchema, type MarketUpdate } from "@quantcore/proto";
import { QuantCoreError, backoffDelayMs, createLogger, nowUs, sleep } from "@quantcore/runtime";
import { DEFAULT_COMPUTE_OPTIONS, type ComputeOptions } from "./options.js";
import { RedisStateWriter, type StateWrite } from "./redis-writer.js";
import { SignalEngine } from "./signals.js";

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
}

export interface ComputeService {
  readonly options: Readonly<ComputeOptions>;
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): ComputeStats;
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
  };
  let consumer: Consumer | undefined;
  let stopping = false;

  /** Retries until Redis acknowledges: offsets are resolved only after that. */
  const writeUntilAcked = async (writes: StateWrite[], p: EachBatchPayload): Promise<boolean> => {
    for (let attempt = 0; ; attempt++) {
      try {
        stats.writesApplied += await writer.write(writes);
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

  const eachBatch = async (p: EachBatchPayload) => {
    const receiveUs = nowUs();
    const latest = new Map<string, MarketUpdate>();
    for (const m of p.batch.messages) {
      stats.records++;
      if (!m.value) {
        stats.badRecords++;
        continue;
      }
      let update: MarketUpdate;
      try {
        update = engine.apply(fromBinary(BookUpdateSchema, m.value), receiveUs);
      } catch (err) {
        stats.badRecords++;
        log.warn("undecodable record skipped", {
          offset: m.offset,
          err: err instanceof Error ? err.message : String(err),
        });
        continue;
      }
      const prev = latest.get(update.symbol);
      if (prev) stats.writesSavedByDedup++;
      if (!prev || update.updateId >= prev.updateId) latest.set(update.symbol, update);
    }
    const writes: StateWrite[] = [];
    const publishUs = nowUs();
    for (const u of latest.values()) {
      if (u.timestamps) u.timestamps.computePublishUs = publishUs;
      writes.push({ symbol: u.symbol, updateId: u.updateId, payload: toBinary(MarketUpdateSchema, u) });
    }
    stats.writesAttempted += writes.length;
    if (!(await writeUntilAcked(writes, p))) return; // not acked: leave offsets unresolved
    const last = p.batch.messages.at(-1);
    if (last) p.resolveOffset(last.offset);
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
      // Offsets are committed (periodically, by kafkajs) only up to what was resolved,
      // and a batch is resolved only after Redis acknowledged it.
      await consumer.run({ eachBatchAutoResolve: false, autoCommitInterval: 500, eachBatch });
    },
    async stop() {
      stopping = true;
      await consumer?.disconnect();
      await writer.close();
    },
    stats: () => ({ ...stats }),
  };
}
