// A synthetic compute for the dashboard bench: MarketUpdate bytes for 30 symbols written the way
// compute writes them (HSET state + ids, PUBLISH the same bytes; docs/contracts.md), with OBI
// random walks so the heatmap really changes colour. No Kafka, no ingest.
import { create, toBinary } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { HopTimestampsSchema, MarketUpdateSchema, SignalsSchema } from "@quantcore/proto";
import { TOP30_USDT } from "@quantcore/ingest";
import { nowUs, sleep } from "@quantcore/runtime";

const clamp = (v: number) => Math.max(-1, Math.min(1, v));

export interface Publisher {
  /** Updates written so far. */
  written(): number;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export function startPublisher(redisUrl: string, ns: string, updatesPerSecond: number): Publisher {
  const redis = new Redis(redisUrl);
  const obi = TOP30_USDT.map(() => Math.random() * 2 - 1);
  const ids = TOP30_USDT.map(() => 1_000_000);
  let written = 0;
  let paused = false;
  let running = true;
  const tickMs = 10;
  const loop = (async () => {
    let carry = 0;
    let next = 0;
    while (running) {
      carry += updatesPerSecond / (1000 / tickMs);
      if (paused) carry = 0;
      const multi = redis.multi();
      let n = 0;
      for (; carry >= 1; carry--, n++) {
        const i = next++ % TOP30_USDT.length;
        obi[i] = clamp(obi[i]! + (Math.random() - 0.5) * 0.2);
        const o = obi[i]!;
        const mid = 100 + i * 10;
        const t = nowUs();
        const u = create(MarketUpdateSchema, {
          symbol: TOP30_USDT[i]!,
          updateId: BigInt(++ids[i]!),
          signals: create(SignalsSchema, {
            obi1: clamp(o * 1.3),
            obi5: o,
            obi10: clamp(o * 0.8),
            obi20: clamp(o * 0.6),
            bestBidPrice: mid - 0.01,
            bestBidQuantity: 1 + o,
            bestAskPrice: mid + 0.01,
            bestAskQuantity: 1 - o + 0.01,
            midPrice: mid,
            spreadBps: (0.02 / mid) * 1e4,
            microprice: mid + 0.01 * o,
            weightedObi: o,
            ofi1s: o * 3,
            ofi10s: o * 10,
          }),
          timestamps: create(HopTimestampsSchema, {
            exchangeEventUs: t - 2000,
            ingestReceiveUs: t - 1500,
            ingestProduceUs: t - 1400,
            computeReceiveUs: t - 600,
            computePublishUs: t,
          }),
        });
        const bytes = Buffer.from(toBinary(MarketUpdateSchema, u));
        multi
          .hset(`${ns}:state`, u.symbol, bytes)
          .hset(`${ns}:ids`, u.symbol, u.updateId.toString())
          .publish(`${ns}:updates`, bytes);
      }
      if (n > 0) await multi.exec();
      written += n;
      await sleep(tickMs);
    }
  })();
  return {
    written: () => written,
    pause: () => void (paused = true),
    resume: () => void (paused = false),
    async stop() {
      running = false;
      await loop;
      redis.disconnect();
    },
  };
}
