import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { MarketDataService, MarketUpdateSchema, SymbolState, type StreamMarketUpdatesResponse } from "@quantcore/proto";
import { QuantCoreError, waitFor } from "@quantcore/runtime";
import { startRedis, type RedisHandle } from "@quantcore/stack";
import { createGateway, loadTokens, type Gateway, type GatewayOptions } from "../src/index.js";

let redisHandle: RedisHandle;
let redis: Redis;

before(async () => {
  redisHandle = await startRedis();
  redis = new Redis(redisHandle.url);
});
after(async () => {
  redis.disconnect();
  await redisHandle.stop();
});

async function withGateway(opts: Partial<GatewayOptions>, fn: (g: Gateway, ns: string) => Promise<void>) {
  const ns = `r${randomUUID().slice(0, 8)}`;
  const g = await createGateway({ redisUrl: redisHandle.url, redisNamespace: ns, grpcPort: 0, httpPort: 0, ...opts });
  try {
    await fn(g, ns);
  } finally {
    await g.close();
  }
}

const store = (ns: string, symbol: string, id: number) =>
  redis.hset(
    `${ns}:state`,
    symbol,
    Buffer.from(toBinary(MarketUpdateSchema, create(MarketUpdateSchema, { symbol, updateId: BigInt(id) }))),
  );

const firstMessage = async (stream: AsyncIterable<StreamMarketUpdatesResponse>) => {
  for await (const m of stream) return m;
  return undefined;
};

test("unknown symbols: NOT_FOUND naming them (stream and snapshot); known but unwritten ones are fine", async () => {
  await withGateway({ universe: ["BTCUSDT", "ETHUSDT"] }, async (g, ns) => {
    await store(ns, "BTCUSDT", 1);
    for (const transport of [
      createGrpcTransport({ baseUrl: g.grpcUrl }),
      createGrpcWebTransport({ baseUrl: g.httpUrl, httpVersion: "1.1" }),
    ]) {
      const client = createClient(MarketDataService, transport);
      await assert.rejects(
        firstMessage(client.streamMarketUpdates({ symbols: ["BTCUSDT", "BTCUSD", "XYZUSDT"] }, { timeoutMs: 30_000 })),
        (e) => {
          const err = ConnectError.from(e);
          return (
            err.code === Code.NotFound && /BTCUSD, XYZUSDT/.test(err.rawMessage) && !/BTCUSDT,/.test(err.rawMessage)
          );
        },
      );
      await assert.rejects(
        client.getSnapshot({ symbols: ["BTCUSD"] }, { timeoutMs: 30_000 }),
        (e) => ConnectError.from(e).code === Code.NotFound && /BTCUSD\b/.test(ConnectError.from(e).rawMessage),
      );
      // In the universe, not written yet: no snapshot value, a STALE status, not an error.
      const snap = await client.getSnapshot({ symbols: ["ETHUSDT"] }, { timeoutMs: 30_000 });
      assert.deepEqual(snap.updates, []);
      assert.deepEqual(
        snap.statuses.map((s) => [s.symbol, s.state, s.lastUpdateId]),
        [["ETHUSDT", SymbolState.STALE, 0n]],
      );
      const m = await firstMessage(client.streamMarketUpdates({ symbols: ["ETHUSDT"] }, { timeoutMs: 30_000 }));
      assert.equal(m?.event.case, "status");
    }
    // Written a moment ago (not in the configured universe): known at once, not after a refresh period.
    await store(ns, "NEWUSDT", 1);
    const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: g.grpcUrl }));
    const snap = await client.getSnapshot({ symbols: ["NEWUSDT"] }, { timeoutMs: 30_000 });
    assert.deepEqual(
      snap.updates.map((u) => u.symbol),
      ["NEWUSDT"],
    );
  });
});

/** Bytes no decoder accepts as a request: field 1 (symbols), length-delimited, with a truncated length. */
const GARBAGE = Buffer.from([0x0a, 0xff, 0xff, 0xff]);
const envelope = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, b.length]), b]);

test("undecodable request bytes: INVALID_ARGUMENT over gRPC, gRPC-Web and Connect, for streams and unary calls", async () => {
  await withGateway({}, async (g) => {
    for (const method of ["StreamMarketUpdates", "GetSnapshot"]) {
      // Native gRPC (h2c): grpc-status in the trailers.
      const session = http2.connect(g.grpcUrl);
      const status = await new Promise<string | undefined>((resolve, reject) => {
        const req = session.request({
          ":method": "POST",
          ":path": `/quantcore.v1.MarketDataService/${method}`,
          "content-type": "application/grpc",
          te: "trailers",
        });
        let s: string | undefined;
        req.on("response", (h) => (s ??= h["grpc-status"] as string | undefined));
        req.on("trailers", (h) => (s = h["grpc-status"] as string | undefined));
        req.on("data", () => {});
        req.on("end", () => resolve(s));
        req.on("error", reject);
        req.setTimeout(30_000, () => reject(new Error("timed out")));
        req.end(envelope(GARBAGE));
      });
      session.close();
      assert.equal(status, String(Code.InvalidArgument), `gRPC ${method}`);

      // gRPC-Web over HTTP/1.1: the status is in the trailer frame of the body (or the headers).
      const web = await fetch(`${g.httpUrl}/quantcore.v1.MarketDataService/${method}`, {
        method: "POST",
        headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
        body: envelope(GARBAGE),
        signal: AbortSignal.timeout(30_000),
      });
      const body = Buffer.from(await web.arrayBuffer()).toString("latin1");
      const webStatus = web.headers.get("grpc-status") ?? /grpc-status:\s*(\d+)/.exec(body)?.[1];
      assert.equal(webStatus, String(Code.InvalidArgument), `gRPC-Web ${method}`);
    }
    // Connect: unary (plain body) answers HTTP 400 invalid_argument, not 500.
    const unary = await fetch(`${g.httpUrl}/quantcore.v1.MarketDataService/GetSnapshot`, {
      method: "POST",
      headers: { "content-type": "application/proto", "connect-protocol-version": "1" },
      body: GARBAGE,
      signal: AbortSignal.timeout(30_000),
    });
    assert.equal(unary.status, 400);
    assert.equal(((await unary.json()) as { code: string }).code, "invalid_argument");
    // Connect streaming: the end-of-stream message carries the code.
    const stream = await fetch(`${g.httpUrl}/quantcore.v1.MarketDataService/StreamMarketUpdates`, {
      method: "POST",
      headers: { "content-type": "application/connect+proto", "connect-protocol-version": "1" },
      body: envelope(GARBAGE),
      signal: AbortSignal.timeout(30_000),
    });
    assert.match(Buffer.from(await stream.arrayBuffer()).toString("latin1"), /"code":"invalid_argument"/);
    // A valid request still works after all that.
    const ok = createClient(MarketDataService, createGrpcTransport({ baseUrl: g.grpcUrl }));
    assert.deepEqual((await ok.getSnapshot({ symbols: [] }, { timeoutMs: 30_000 })).updates, []);
  });
});

test("keepalive_interval_ms is honoured per stream, and raised to 250 ms", async () => {
  // The server default is a minute: keepalives seen within the window below are the stream's own.
  await withGateway({ keepaliveIntervalMs: 60_000 }, async (g, ns) => {
    await store(ns, "BTCUSDT", 1);
    const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: g.grpcUrl }));
    const run = async (askedMs: number, honouredMs: number) => {
      const abort = new AbortController();
      const keepalives: number[] = [];
      const done = (async () => {
        try {
          for await (const m of client.streamMarketUpdates(
            { symbols: [], keepaliveIntervalMs: askedMs },
            { signal: abort.signal, timeoutMs: 60_000 },
          )) {
            if (m.event.case === "keepalive") keepalives.push(m.event.value.serverTimeUs);
          }
        } catch {
          /* ended by the test */
        }
      })();
      // Generous: four keepalives arrive within a second or two on an idle machine.
      await waitFor(() => keepalives.length >= 4, `4 keepalives at ${askedMs} ms`, { timeoutMs: 30_000 });
      abort.abort();
      await done;
      // Never closer than the interval (server clock; a stall only makes gaps longer).
      for (let i = 1; i < keepalives.length; i++) {
        const gapMs = (keepalives[i]! - keepalives[i - 1]!) / 1000;
        assert.ok(gapMs >= honouredMs - 2, `keepalives ${gapMs.toFixed(1)} ms apart, asked ${askedMs}`);
      }
    };
    await run(400, 400);
    await run(50, 250);
  });
});

test("tokens file: a malformed file is refused naming the field; a valid one loads", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "qc-tokens-"));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const refused = (p: string, field: RegExp) =>
    assert.throws(
      () => loadTokens({ tokensFile: p }),
      (e: unknown) => e instanceof QuantCoreError && e.kind === "invalid_argument" && field.test(e.message),
    );
  // The reported case: a string where a list belongs was spread one character per token.
  refused(file("a.json", '{"operators":"secret"}'), /operators: expected an array, got a string of 6 characters/);
  refused(file("b.json", '{"bots":["ok", 7]}'), /bots\[1\]: expected a string/);
  refused(file("c.json", '{"operator":["x"]}'), /operator: unknown field/);
  refused(file("d.json", '{"bots":[""]}'), /bots\[0\]: expected a string of at least 1 characters/);
  refused(file("e.json", "operators: x"), /not JSON/);
  refused(path.join(dir, "missing.json"), /missing\.json/);
  assert.doesNotThrow(() => loadTokens({ tokensFile: file("f.json", "{}") }));
  assert.deepEqual(
    loadTokens({ operatorTokens: ["o1"], tokensFile: file("g.json", '{"operators":["o2"],"bots":["b"]}') }),
    {
      operators: ["o1", "o2"],
      bots: ["b"],
    },
  );
  // The secret itself never appears in the message.
  assert.throws(
    () => loadTokens({ tokensFile: path.join(dir, "a.json") }),
    (e: unknown) => e instanceof Error && !e.message.includes("secret"),
  );
});

test("the gateway app stops at start on a malformed tokens file, naming the field", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "qc-tokens-"));
  const p = path.join(dir, "tokens.json");
  writeFileSync(p, '{"operators":"secret"}');
  const main = path.resolve(import.meta.dirname, "../../../apps/gateway/src/main.ts");
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", main],
      // Redis is never reached: the file is checked first.
      { env: { ...process.env, GATEWAY_TOKENS_FILE: p, REDIS_URL: "redis://127.0.0.1:1" }, timeout: 60_000 },
      (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /GATEWAY_TOKENS_FILE .*tokens\.json: operators: expected an array/);
});
