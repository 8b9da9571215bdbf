// Shared set-up of the Redis-backed gateway tests (gateway.test.ts, flow.test.ts): a real
// redis-server per test file, publishing as compute does, a gateway per test.
import { randomUUID } from "node:crypto";
import { after, before } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import {
  HopTimestampsSchema,
  MarketUpdateSchema,
  SignalsSchema,
  type StreamMarketUpdatesResponse,
} from "@quantcore/proto";
import { nowUs } from "@quantcore/runtime";
import { startRedis, type RedisHandle } from "@quantcore/stack";
import { createGateway, type Gateway, type GatewayOptions } from "../src/index.js";

export let redisHandle: RedisHandle;
export let redis: Redis;

/** One redis-server for the test file that calls this at its top level. */
export function useRedis(): void {
  before(async () => {
    redisHandle = await startRedis();
    redis = new Redis(redisHandle.url);
  });
  after(async () => {
    redis.disconnect();
    await redisHandle.stop();
  });
}

/** Writes state and publishes exactly as compute does. */
export async function publish(ns: string, symbol: string, id: number, obi20: number): Promise<void> {
  const u = create(MarketUpdateSchema, {
    symbol,
    updateId: BigInt(id),
    signals: create(SignalsSchema, { obi20 }),
    timestamps: create(HopTimestampsSchema, { ingestReceiveUs: nowUs(), computePublishUs: nowUs() }),
  });
  const bytes = Buffer.from(toBinary(MarketUpdateSchema, u));
  await redis.multi().hset(`${ns}:state`, symbol, bytes).publish(`${ns}:updates`, bytes).exec();
}

export async function withGateway(opts: Partial<GatewayOptions>, fn: (g: Gateway, ns: string) => Promise<void>) {
  const ns = `t${randomUUID().slice(0, 8)}`;
  const g = await createGateway({ redisUrl: redisHandle.url, redisNamespace: ns, grpcPort: 0, httpPort: 0, ...opts });
  try {
    await fn(g, ns);
  } finally {
    await g.close();
  }
}

export async function collect(stream: AsyncIterable<StreamMarketUpdatesResponse>, out: StreamMarketUpdatesResponse[]) {
  try {
    for await (const m of stream) out.push(m);
  } catch {
    /* ended by the test */
  }
}

export const updates = (ms: StreamMarketUpdatesResponse[]) =>
  ms.flatMap((m) => (m.event.case === "update" ? [m.event.value] : []));
