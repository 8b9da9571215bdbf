import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { Kafka, logLevel, type Admin } from "kafkajs";
import { replayAndCompare } from "@quantcore/compute";
import {
  LayerLatencySchema,
  PartitionLagSchema,
  PipelineHealthSchema,
  ReplayJobSchema,
  ShardHealthSchema,
  type PipelineHealth,
  type ReplayJob,
  type WatchPipelineHealthResponse,
} from "@quantcore/proto";
import {
  QuantCoreError,
  SYMBOL_PATTERN,
  createLogger,
  nowUs,
  redisKeys,
  settlesWithin,
  shardHeartbeatSchema,
  sleep,
  type ControlCommand,
} from "@quantcore/runtime";
import { toConnectError } from "./errors.js";
import { readHeartbeats } from "./heartbeats.js";
import type { SlidingLatency } from "./latency.js";
import type { GatewayOptions } from "./options.js";

const log = createLogger("gateway.control");
const STALE_AFTER_MS = 5_000;

export interface ControlDeps {
  opts: GatewayOptions;
  redis: Redis;
  latency: SlidingLatency;
  clientCount: () => number;
  /** A heartbeat refused by its schema (counted). */
  onRejected: (contract: string) => void;
  /** The requested symbols the gateway does not know (see Liveness.unknown). */
  unknownSymbols: (symbols: string[]) => Promise<string[]>;
}

export function controlPlane({ opts, redis, latency, clientCount, onRejected, unknownSymbols }: ControlDeps) {
  const jobs = new Map<string, { job: ReplayJob; abort: AbortController; done: Promise<void> }>();
  // One admin client, shared by every health stream: concurrent first calls share its connect,
  // a failed one is disconnected before the next try, and none is made after close.
  let admin: Promise<Admin> | undefined;
  let closed = false;
  // Admin calls in flight: close waits for them, or one would reconnect a broker (a metadata
  // refresh) after the admin was disconnected and hold the process open.
  const inFlight = new Set<Promise<unknown>>();
  const tracked = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.then(
      () => inFlight.delete(p),
      () => inFlight.delete(p),
    );
    return p;
  };

  const kafkaAdmin = (): Promise<Admin> | undefined => {
    if (opts.kafkaBrokers.length === 0 || closed) return undefined;
    if (!admin) {
      const a = new Kafka({
        clientId: "quantcore-gateway",
        brokers: opts.kafkaBrokers,
        logLevel: logLevel.NOTHING,
      }).admin();
      admin = a.connect().then(() => a);
      admin.catch(() => {});
    }
    return admin;
  };
  const dropAdmin = async () => {
    const a = admin;
    admin = undefined;
    if (!a) return;
    const client = await a.catch(() => undefined);
    if (client && !(await settlesWithin(client.disconnect(), 5_000))) log.warn("kafka admin disconnect timed out");
  };

  const consumerLag = async () => {
    try {
      const pending = kafkaAdmin();
      if (!pending) return [];
      const a = await pending;
      if (closed) return [];
      const [ends, committed] = await tracked(
        Promise.all([
          a.fetchTopicOffsets(opts.kafkaTopic),
          a.fetchOffsets({ groupId: opts.computeGroupId, topics: [opts.kafkaTopic] }),
        ]),
      );
      const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      return ends.map((e) => {
        const c = done.get(e.partition) ?? -1n;
        const from = c >= 0n ? c : BigInt(e.low);
        const lag = BigInt(e.high) - from;
        return create(PartitionLagSchema, { partition: e.partition, lag: lag > 0n ? lag : 0n });
      });
    } catch (err) {
      log.warn("consumer lag unavailable", { err: err instanceof Error ? err.message : String(err) });
      await dropAdmin();
      return [];
    }
  };

  const shards = async () => {
    const now = Date.now();
    const beats = await readHeartbeats(redis, redisKeys(opts.redisNamespace).shards, shardHeartbeatSchema, onRejected);
    return beats
      .sort((a, b) => a.shardId - b.shardId)
      .map((h) =>
        create(ShardHealthSchema, {
          shardId: h.shardId,
          symbols: h.symbols,
          connected: h.connected && now - h.updatedAtMs < STALE_AFTER_MS,
          framesPerSecond: h.framesPerSecond,
          lastFrameAgeMs: h.lastFrameAgeMs,
          reconnects: BigInt(h.reconnects),
          resyncs: BigInt(h.resyncs),
          gaps: BigInt(h.gaps),
          rejectedFrames: BigInt(h.rejectedFrames),
          producerBacklog: BigInt(h.producerBacklog),
          stale: now - h.updatedAtMs >= STALE_AFTER_MS,
          heartbeatAgeMs: now - h.updatedAtMs,
        }),
      );
  };

  const health = async (): Promise<PipelineHealth> => {
    const now = nowUs();
    const [s, lag] = await Promise.all([shards(), consumerLag()]);
    return create(PipelineHealthSchema, {
      serverTimeUs: now,
      shards: s,
      consumerLag: lag,
      latency: latency.summary(now).map((l) => create(LayerLatencySchema, l)),
      clients: clientCount(),
      replays: [...jobs.values()].map((j) => j.job),
    });
  };

  async function* watchPipelineHealth(
    req: { intervalMs: number },
    ctx: HandlerContext,
  ): AsyncGenerator<WatchPipelineHealthResponse> {
    const intervalMs = Math.max(100, req.intervalMs || 1000);
    while (!ctx.signal.aborted) {
      let h: PipelineHealth;
      try {
        h = await health();
      } catch (err) {
        throw toConnectError(QuantCoreError.infra("health", err));
      }
      yield { $typeName: "quantcore.v1.WatchPipelineHealthResponse", health: h };
      await sleep(intervalMs, ctx.signal).catch(() => {});
    }
  }

  return {
    watchPipelineHealth,
    async startReplay() {
      if (opts.kafkaBrokers.length === 0)
        throw new ConnectError("replay needs the gateway to know KAFKA_BROKERS", Code.FailedPrecondition);
      if ([...jobs.values()].some((j) => j.job.state === "running"))
        throw new ConnectError("a replay is already running", Code.FailedPrecondition);
      const id = randomUUID().slice(0, 8);
      const job = create(ReplayJobSchema, { id, state: "running", detail: "reprocessing the topic from offset 0" });
      const abort = new AbortController();
      const done = replayAndCompare({
        kafkaBrokers: opts.kafkaBrokers,
        kafkaTopic: opts.kafkaTopic,
        redisUrl: opts.redisUrl,
        liveNamespace: opts.redisNamespace,
        replayNamespace: `${opts.redisNamespace}-replay-${id}`,
        timeoutMs: 30 * 60_000,
        signal: abort.signal,
      }).then(
        (r) => {
          job.state = r.equal ? "equal" : "different";
          job.detail = `${r.identical.length} identical, ${r.liveAhead.length} live ahead, ${r.mismatches.length} mismatches${r.mismatches.length ? `: ${r.mismatches.slice(0, 3).join("; ")}` : ""}`;
        },
        (err: unknown) => {
          job.state = abort.signal.aborted ? "stopped" : "failed";
          job.detail = abort.signal.aborted
            ? "stopped by an operator"
            : String(err instanceof Error ? err.message : err);
        },
      );
      jobs.set(id, { job, abort, done });
      return { job };
    },
    async stopReplay(req: { id: string }) {
      const j = jobs.get(req.id);
      if (!j) throw new ConnectError(`no replay ${JSON.stringify(req.id)}`, Code.NotFound);
      j.abort.abort();
      return {};
    },
    async forceResync(req: { symbol: string; shardId: number; wholeShard: boolean }) {
      if (!req.wholeShard && !SYMBOL_PATTERN.test(req.symbol)) {
        throw new ConnectError("give a symbol, or a shard id with whole_shard = true", Code.InvalidArgument);
      }
      const keys = redisKeys(opts.redisNamespace);
      const cmd: ControlCommand = req.wholeShard
        ? { type: "resync", shardId: req.shardId }
        : { type: "resync", symbol: req.symbol };
      try {
        // Nobody would act on a command for a shard that never reported, or a symbol nobody serves.
        if (req.wholeShard && !(await redis.hexists(keys.shards, String(req.shardId)))) {
          throw new ConnectError(`no shard ${req.shardId}: no heartbeat from it in ${keys.shards}`, Code.NotFound);
        }
        if (!req.wholeShard) {
          const unknown = await unknownSymbols([req.symbol]);
          if (unknown.length > 0) throw new ConnectError(`unknown symbol ${req.symbol}`, Code.NotFound);
        }
        await redis.publish(keys.control, JSON.stringify(cmd));
      } catch (err) {
        throw err instanceof ConnectError ? err : toConnectError(QuantCoreError.infra("redis", err));
      }
      return {};
    },
    async close() {
      closed = true;
      for (const j of jobs.values()) j.abort.abort();
      // A replay's own Kafka clients must be gone before the gateway says it has stopped.
      const running = Promise.all([...jobs.values()].map((j) => j.done));
      if (!(await settlesWithin(running, 15_000))) log.warn("replay jobs did not stop in time");
      if (!(await settlesWithin(Promise.allSettled([...inFlight]), 5_000)))
        log.warn("kafka admin calls did not end in time");
      await dropAdmin();
    },
  };
}
