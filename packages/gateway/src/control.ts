import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import {
  LayerLatencySchema,
  PartitionLagSchema,
  PipelineHealthSchema,
  ReplayJobSchema,
  ShardHealthSchema,
  type PipelineHealth,
  type WatchPipelineHealthResponse,
} from "@quantcore/proto";
import {
  QuantCoreError,
  SYMBOL_PATTERN,
  computeHeartbeatSchema,
  nowUs,
  redisKeys,
  replayJobSchema,
  shardHeartbeatSchema,
  sleep,
  type ControlCommand,
  type ReplayCommand,
} from "@quantcore/runtime";
import { toConnectError } from "./errors.js";
import { readHeartbeats } from "./heartbeats.js";
import type { SlidingLatency } from "./latency.js";
import type { GatewayOptions } from "./options.js";

const STALE_AFTER_MS = 5_000;
/** A running replay job the worker has not refreshed for this long has lost its worker (the worker's orphanAfterMs). */
const REPLAY_ALIVE_MS = 30_000;

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

/**
 * The control plane. It only reads what the pipeline reports through Redis (shard and compute
 * heartbeats, replay jobs) and publishes commands (ingest resyncs, replays): replays run in the
 * replay worker (apps/compute, COMPUTE_MODE=replay), consumer lag is measured by compute.
 */
export function controlPlane({ opts, redis, latency, clientCount, onRejected, unknownSymbols }: ControlDeps) {
  const keys = redisKeys(opts.redisNamespace);

  /** Per partition, from the freshest live compute heartbeat that reports it. */
  const consumerLag = async () => {
    const now = Date.now();
    const beats = await readHeartbeats(redis, keys.compute, computeHeartbeatSchema, onRejected);
    const lag = new Map<number, { lag: number; atMs: number }>();
    for (const hb of beats) {
      if (now - hb.updatedAtMs > opts.computeHeartbeatTimeoutMs) continue;
      for (const p of hb.partitionLag ?? []) {
        const prev = lag.get(p.partition);
        if (!prev || hb.updatedAtMs > prev.atMs) lag.set(p.partition, { lag: p.lag, atMs: hb.updatedAtMs });
      }
    }
    return [...lag]
      .sort(([a], [b]) => a - b)
      .map(([partition, l]) => create(PartitionLagSchema, { partition, lag: BigInt(l.lag) }));
  };

  const replayJobs = () => readHeartbeats(redis, keys.replays, replayJobSchema, onRejected);

  const shards = async () => {
    const now = Date.now();
    const beats = await readHeartbeats(redis, keys.shards, shardHeartbeatSchema, onRejected);
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
    const [s, lag, replays] = await Promise.all([shards(), consumerLag(), replayJobs()]);
    return create(PipelineHealthSchema, {
      serverTimeUs: now,
      shards: s,
      consumerLag: lag,
      latency: latency.summary(now).map((l) => create(LayerLatencySchema, l)),
      clients: clientCount(),
      replays: replays
        .sort((a, b) => a.startedAtMs - b.startedAtMs)
        .map((j) => create(ReplayJobSchema, { id: j.id, state: j.state, detail: j.detail })),
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
      const id = randomUUID().slice(0, 8);
      try {
        const now = Date.now();
        const running = (await replayJobs()).find(
          (j) => j.state === "running" && now - j.updatedAtMs < REPLAY_ALIVE_MS,
        );
        if (running) throw new ConnectError(`replay ${running.id} is already running`, Code.FailedPrecondition);
        const cmd: ReplayCommand = { type: "start", id, requestedAtMs: now };
        const workers = await redis.publish(keys.replayCommands, JSON.stringify(cmd));
        if (workers === 0)
          throw new ConnectError(
            `no replay worker listens on ${keys.replayCommands} (run apps/compute with COMPUTE_MODE=replay)`,
            Code.FailedPrecondition,
          );
      } catch (err) {
        throw err instanceof ConnectError ? err : toConnectError(QuantCoreError.infra("redis", err));
      }
      return { job: create(ReplayJobSchema, { id, state: "running", detail: "sent to the replay worker" }) };
    },
    async stopReplay(req: { id: string }) {
      try {
        const job = (await replayJobs()).find((j) => j.id === req.id);
        if (!job) throw new ConnectError(`no replay ${JSON.stringify(req.id)}`, Code.NotFound);
        if (job.state !== "running") return {};
        const cmd: ReplayCommand = { type: "stop", id: job.id, requestedAtMs: Date.now() };
        await redis.publish(keys.replayCommands, JSON.stringify(cmd));
      } catch (err) {
        throw err instanceof ConnectError ? err : toConnectError(QuantCoreError.infra("redis", err));
      }
      return {};
    },
    async forceResync(req: { symbol: string; shardId: number; wholeShard: boolean }) {
      if (!req.wholeShard && !SYMBOL_PATTERN.test(req.symbol)) {
        throw new ConnectError("give a symbol, or a shard id with whole_shard = true", Code.InvalidArgument);
      }
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
    async close() {},
  };
}
