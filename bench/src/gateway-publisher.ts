// The gateway bench's publisher: writes MarketUpdates into Redis as compute does (HSET qc:state +
// PUBLISH qc:updates), in one of two shapes.
//  - bursts (the deployed shape, the default): every symbol ticks once per `burstIntervalMs` (Binance
//    diffs of every symbol share the event time; the load bench's feed ticks them together), and compute
//    writes each fetch's records together, so the gateway gets a few writes of several updates per
//    interval. bench/results/load.md at 300 upd/s: 1,276 messages for 9,000 updates in 30 s, i.e.
//    ~42 messages/s per stream, ~7 updates per message: 4 writes per 100 ms, a few ms apart.
//  - uniform: the same rate spread evenly, a write every 10 ms (~3 updates per write at 300/s).
import { create, toBinary } from "@bufbuild/protobuf";
import type { Redis } from "ioredis";
import { TOP30_USDT } from "@quantcore/ingest";
import { HopTimestampsSchema, MarketUpdateSchema, SignalsSchema } from "@quantcore/proto";
import { nowUs, sleep, type EnvReader } from "@quantcore/runtime";

export type PublishShape = "bursts" | "uniform";

/** BENCH_SHAPES: the publish shapes to measure, in order (default both, bursts first: the headline). */
export function readPublishShapes(env: EnvReader): PublishShape[] {
  return env
    .string("BENCH_SHAPES", "bursts,uniform")
    .split(",")
    .map((x) => {
      if (x !== "bursts" && x !== "uniform") throw new Error(`BENCH_SHAPES: expected bursts or uniform, got ${x}`);
      return x;
    });
}

export interface PublisherOptions {
  redis: Redis;
  namespace: string;
  updatesPerSecond: number;
  /** bursts: every symbol ticks once per interval. */
  burstIntervalMs: number;
  /** bursts: the interval's updates go out in this many writes (compute's writes per fetch)... */
  writesPerBurst: number;
  /** ...this far apart. */
  writeGapMs: number;
}

export const DEFAULT_PUBLISHER = { burstIntervalMs: 100, writesPerBurst: 4, writeGapMs: 2 } as const;

/** A MarketUpdate as compute writes it (the signals of a real BTCUSDT book). */
export const benchUpdate = (symbol: string, id: number) =>
  create(MarketUpdateSchema, {
    symbol,
    updateId: BigInt(id),
    signals: create(SignalsSchema, {
      obi1: 0.31,
      obi5: 0.12,
      obi10: -0.05,
      obi20: 0.02,
      bestBidPrice: 61837.63,
      bestBidQuantity: 3.78826,
      bestAskPrice: 61837.64,
      bestAskQuantity: 1.54698,
      midPrice: 61837.635,
      spreadBps: 0.0016,
      microprice: 61837.637,
      weightedObi: 0.2,
      ofi1s: 1.5,
      ofi10s: -3.25,
    }),
    timestamps: create(HopTimestampsSchema, { ingestReceiveUs: nowUs(), computePublishUs: nowUs() }),
  });

/** Publishes in `shape()` (read before every interval, so scenarios switch it) until `stop()`. */
export function startPublisher(o: PublisherOptions, shape: () => PublishShape) {
  let nextId = 1;
  let publishing = true;
  /** One write (MULTI/EXEC) of `n` updates, the symbols in round-robin order. */
  const write = (n: number) => {
    const multi = o.redis.multi();
    for (let i = 0; i < n; i++) {
      const u = benchUpdate(TOP30_USDT[nextId % TOP30_USDT.length]!, nextId++);
      u.timestamps!.computePublishUs = nowUs();
      const bytes = Buffer.from(toBinary(MarketUpdateSchema, u));
      multi.hset(`${o.namespace}:state`, u.symbol, bytes).publish(`${o.namespace}:updates`, bytes);
    }
    return multi.exec();
  };
  const done = (async () => {
    let carry = 0;
    let nextBurstAtMs = performance.now();
    while (publishing) {
      if (shape() === "uniform") {
        // As this bench always published (a sleep after each write, so a little under the rate).
        carry += o.updatesPerSecond / 100;
        const n = Math.floor(carry);
        carry -= n;
        if (n > 0) await write(n);
        await sleep(10);
        nextBurstAtMs = performance.now();
        continue;
      }
      carry += (o.updatesPerSecond * o.burstIntervalMs) / 1000;
      const n = Math.floor(carry);
      carry -= n;
      for (let w = 0; w < o.writesPerBurst; w++) {
        const k = Math.floor((n * (w + 1)) / o.writesPerBurst) - Math.floor((n * w) / o.writesPerBurst);
        if (k > 0) await write(k);
        if (w < o.writesPerBurst - 1) await sleep(o.writeGapMs);
      }
      // On a fixed schedule, so the rate holds whatever the writes took.
      nextBurstAtMs = Math.max(nextBurstAtMs + o.burstIntervalMs, performance.now());
      await sleep(nextBurstAtMs - performance.now());
    }
  })();
  return {
    async stop() {
      publishing = false;
      await done;
    },
  };
}
