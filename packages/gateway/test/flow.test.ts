// The gateway with clients that fall behind, stall or lose the subscription (real Redis, real sockets).
import assert from "node:assert/strict";
import http2 from "node:http2";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import {
  HopTimestampsSchema,
  MarketDataService,
  MarketUpdateSchema,
  SignalsSchema,
  StreamMarketUpdatesRequestSchema,
  StreamMarketUpdatesResponseSchema,
  type StreamMarketUpdatesResponse,
} from "@quantcore/proto";
import { nowUs, waitFor } from "@quantcore/runtime";
import { startRedis, type RedisHandle } from "@quantcore/stack";
import { createGateway } from "../src/index.js";
import { collect, publish, redis, updates, useRedis, withGateway } from "./gateway-harness.js";

useRedis();

test("a stalled client is ended with RESOURCE_EXHAUSTED and does not delay the others", async () => {
  await withGateway({ maxClientLagMs: 300 }, async (g, ns) => {
    const symbols = Array.from({ length: 60 }, (_, i) => `SYM${i}USDT`);
    // A raw HTTP/2 client that sends one request and never reads: flow control stalls it.
    const session = http2.connect(g.grpcUrl);
    const req = toBinary(StreamMarketUpdatesRequestSchema, create(StreamMarketUpdatesRequestSchema, { symbols: [] }));
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, req.length]), Buffer.from(req)]);
    const stalled = session.request({
      ":method": "POST",
      ":path": "/quantcore.v1.MarketDataService/StreamMarketUpdates",
      "content-type": "application/grpc",
      te: "trailers",
    });
    stalled.end(frame);
    stalled.pause();
    stalled.on("error", () => {});
    const stalledClosed = new Promise<number>((resolve) => stalled.on("close", () => resolve(stalled.rstCode)));

    const healthy = createClient(MarketDataService, createGrpcTransport({ baseUrl: g.grpcUrl }));
    const abort = new AbortController();
    const got: StreamMarketUpdatesResponse[] = [];
    const done = collect(healthy.streamMarketUpdates({ symbols: ["SYM0USDT"] }, { signal: abort.signal }), got);
    await waitFor(() => g.clientCount() === 2, "both clients registered");

    // Large enough to fill the stalled stream's flow-control window many times over.
    let id = 1;
    for (
      let round = 0;
      round < 40 && (await Promise.race([stalledClosed.then(() => true), Promise.resolve(false)])) === false;
      round++
    ) {
      for (const s of symbols) await publish(ns, s, id++, Math.random());
    }
    const code = await stalledClosed;
    assert.equal(code, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, "gRPC maps ENHANCE_YOUR_CALM to RESOURCE_EXHAUSTED");
    const before = updates(got).length;
    await publish(ns, "SYM0USDT", id++, 0.9);
    await waitFor(() => updates(got).length > before, "the healthy client still gets updates");
    abort.abort();
    await done;
    session.close();
  });
});

/** Splits an HTTP/2 gRPC response body into messages. */
function grpcMessages(onMessage: (m: StreamMarketUpdatesResponse) => void): (chunk: Buffer) => void {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
      const end = 5 + buf.readUInt32BE(1);
      onMessage(fromBinary(StreamMarketUpdatesResponseSchema, buf.subarray(5, end)));
      buf = buf.subarray(end);
    }
  };
}

test("a client that falls behind is conflated, then catches up: newest value of every symbol, in order, none twice", async () => {
  await withGateway({ maxClientLagMs: 60_000 }, async (g, ns) => {
    const symbols = Array.from({ length: 60 }, (_, i) => `SYM${i}USDT`);
    const round = async (id: number) => {
      const m = redis.multi();
      for (const symbol of symbols) {
        const u = create(MarketUpdateSchema, {
          symbol,
          updateId: BigInt(id),
          signals: create(SignalsSchema, { obi20: Math.random(), bestBidPrice: 1 + id, bestAskPrice: 2 + id }),
          timestamps: create(HopTimestampsSchema, { computePublishUs: nowUs() }),
        });
        const bytes = Buffer.from(toBinary(MarketUpdateSchema, u));
        m.hset(`${ns}:state`, symbol, bytes).publish(`${ns}:updates`, bytes);
      }
      await m.exec();
    };
    await round(1); // state, so the stream is past its snapshot and on the fan-out's direct path

    const session = http2.connect(g.grpcUrl);
    const req = toBinary(
      StreamMarketUpdatesRequestSchema,
      create(StreamMarketUpdatesRequestSchema, { symbols: [], allowBatches: true }),
    );
    const stream = session.request({
      ":method": "POST",
      ":path": "/quantcore.v1.MarketDataService/StreamMarketUpdates",
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.end(Buffer.concat([Buffer.from([0, 0, 0, 0, req.length]), Buffer.from(req)]));
    const got: { symbol: string; id: number; snapshot: boolean }[] = [];
    stream.on(
      "data",
      grpcMessages((m) => {
        const list =
          m.event.case === "update" ? [m.event.value] : m.event.case === "batch" ? m.event.value.updates : [];
        for (const u of list) got.push({ symbol: u.symbol, id: Number(u.updateId), snapshot: u.snapshot });
      }),
    );
    await waitFor(() => got.length === symbols.length, "snapshot");
    await round(2);
    await waitFor(() => got.length === 2 * symbols.length, "a live round");

    // Stop reading: flow control fills, the gateway stops writing and keeps only the newest per symbol.
    stream.pause();
    const rounds = 60; // ~4 KB a round: several times the 64 KiB stream window plus the write buffer
    for (let id = 3; id < 3 + rounds; id++) await round(id);
    const last = 2 + rounds;
    stream.resume();
    await waitFor(
      () => symbols.every((s) => got.some((u) => u.symbol === s && u.id === last)),
      "the newest value of every symbol",
    );
    stream.close();
    session.close();

    for (const s of symbols) {
      const ids = got.filter((u) => u.symbol === s && !u.snapshot).map((u) => u.id);
      assert.ok(
        ids.every((id, i) => i === 0 || id > ids[i - 1]!),
        `${s}: ids in order, none twice: ${ids.join(",")}`,
      );
    }
    const live = got.filter((u) => !u.snapshot).length;
    assert.ok(
      live < (rounds + 1) * symbols.length,
      `conflated: ${live} live updates for ${(rounds + 1) * symbols.length} published`,
    );
  });
});

test("Redis restarted: clients get a reset, then a fresh snapshot", async () => {
  const own = await startRedis();
  const r = new Redis(own.url);
  const ns = "restart";
  const g = await createGateway({ redisUrl: own.url, redisNamespace: ns, grpcPort: 0, httpPort: 0 });
  let second: RedisHandle | undefined;
  try {
    const u = create(MarketUpdateSchema, {
      symbol: "BTCUSDT",
      updateId: 1n,
      signals: create(SignalsSchema, { obi20: 0.1 }),
    });
    await r.hset(`${ns}:state`, "BTCUSDT", Buffer.from(toBinary(MarketUpdateSchema, u)));
    const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: g.grpcUrl }));
    const abort = new AbortController();
    const got: StreamMarketUpdatesResponse[] = [];
    const done = collect(client.streamMarketUpdates({ symbols: [] }, { signal: abort.signal }), got);
    await waitFor(() => updates(got).length === 1, "initial snapshot");
    r.disconnect();
    await own.stop();
    second = await startRedis({ port: own.port });
    await waitFor(() => got.some((m) => m.event.case === "reset"), "reset", { timeoutMs: 20_000 });
    // The new Redis starts empty; compute refills it: here, by hand.
    const r2 = new Redis(second.url);
    const u2 = create(MarketUpdateSchema, {
      symbol: "BTCUSDT",
      updateId: 7n,
      signals: create(SignalsSchema, { obi20: 0.7 }),
    });
    const bytes = Buffer.from(toBinary(MarketUpdateSchema, u2));
    await r2.multi().hset(`${ns}:state`, "BTCUSDT", bytes).publish(`${ns}:updates`, bytes).exec();
    r2.disconnect();
    await waitFor(() => updates(got).some((x) => x.updateId === 7n), "state after the restart");
    const kinds = got.filter((m) => m.event.case !== "keepalive").map((m) => m.event.case);
    assert.deepEqual(kinds.slice(0, 2), ["update", "reset"]);
    abort.abort();
    await done;
  } finally {
    await g.close();
    await second?.stop();
    await own.stop();
  }
});
