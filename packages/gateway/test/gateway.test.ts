import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import {
  MarketDataService,
  MarketUpdateSchema,
  SignalsSchema,
  type StreamMarketUpdatesResponse,
} from "@quantcore/proto";
import { sleep, waitFor } from "@quantcore/runtime";
import type { Gateway } from "../src/index.js";
import { collect, publish, redis, updates, useRedis, withGateway } from "./gateway-harness.js";

useRedis();

for (const [name, transportOf] of [
  ["native gRPC (h2c)", (g: Gateway) => createGrpcTransport({ baseUrl: g.grpcUrl })],
  ["gRPC-Web (HTTP/1.1)", (g: Gateway) => createGrpcWebTransport({ baseUrl: g.httpUrl, httpVersion: "1.1" })],
] as const) {
  test(`${name}: snapshot first, then live updates, each stamped by the gateway`, async () => {
    await withGateway({}, async (g, ns) => {
      await publish(ns, "BTCUSDT", 10, 0.25);
      await publish(ns, "ETHUSDT", 20, -0.5);
      const client = createClient(MarketDataService, transportOf(g));
      const abort = new AbortController();
      const got: StreamMarketUpdatesResponse[] = [];
      const done = collect(client.streamMarketUpdates({ symbols: ["BTCUSDT"] }, { signal: abort.signal }), got);
      await waitFor(() => updates(got).length >= 1, "snapshot");
      await publish(ns, "ETHUSDT", 21, 0.1); // not subscribed
      await publish(ns, "BTCUSDT", 11, 0.75);
      await waitFor(() => updates(got).length >= 2, "live update");
      abort.abort();
      await done;
      const u = updates(got);
      assert.deepEqual(
        u.map((x) => [x.symbol, Number(x.updateId), x.snapshot, x.signals?.obi20]),
        [
          ["BTCUSDT", 10, true, 0.25],
          ["BTCUSDT", 11, false, 0.75],
        ],
      );
      assert.ok(u[1]!.timestamps!.gatewaySendUs >= u[1]!.timestamps!.computePublishUs);
      const snap = await client.getSnapshot({ symbols: [] });
      assert.deepEqual(snap.updates.map((x) => x.symbol).sort(), ["BTCUSDT", "ETHUSDT"]);
      assert.deepEqual((await client.listSymbols({})).symbols, ["BTCUSDT", "ETHUSDT"]);
    });
  });
}

test("interop: @grpc/grpc-js loading the .proto files streams snapshot and live updates", async () => {
  await withGateway({}, async (g, ns) => {
    await publish(ns, "SOLUSDT", 5, 0.3);
    const def = protoLoader.loadSync(
      path.resolve(import.meta.dirname, "../../../proto/quantcore/v1/market_data.proto"),
      {
        longs: String,
        defaults: true,
        oneofs: true,
      },
    );
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      quantcore: { v1: { MarketDataService: new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client } };
    };
    const client = new pkg.quantcore.v1.MarketDataService(
      g.grpcUrl.replace("http://", ""),
      grpc.credentials.createInsecure(),
    );
    const call = (
      client as unknown as {
        streamMarketUpdates(
          req: unknown,
        ): grpc.ClientReadableStream<{ update?: { symbol: string; updateId: string; snapshot: boolean } }>;
      }
    ).streamMarketUpdates({ symbols: ["SOLUSDT"] });
    const got: { symbol: string; updateId: string; snapshot: boolean }[] = [];
    call.on("data", (m) => m.update && got.push(m.update));
    call.on("error", () => {});
    await waitFor(() => got.length >= 1, "grpc-js snapshot");
    await publish(ns, "SOLUSDT", 6, 0.4);
    await waitFor(() => got.length >= 2, "grpc-js live update");
    call.cancel();
    client.close();
    assert.deepEqual(
      got.map((u) => [u.symbol, u.updateId, u.snapshot]),
      [
        ["SOLUSDT", "5", true],
        ["SOLUSDT", "6", false],
      ],
    );
  });
});

// grpcurl (Go, grpc-go) is built by the test command's set-up from the Go module proxy when Go is present.
const grpcurl = process.env.GRPCURL ?? "";
test(
  "interop: grpcurl (grpc-go) with the .proto files: unary snapshot, server stream, error codes",
  { skip: grpcurl ? false : "grpcurl not available (set GRPCURL, or install Go for the set-up to build it)" },
  async () => {
    await withGateway({}, async (g, ns) => {
      await publish(ns, "SOLUSDT", 7, 0.25);
      await publish(ns, "ADAUSDT", 9, -0.5);
      const addr = g.grpcUrl.replace("http://", "");
      const protoDir = path.resolve(import.meta.dirname, "../../../proto");
      // Asynchronous on purpose: the gateway under test shares this event loop.
      const call = (method: string, body: unknown, extra: string[] = []) =>
        new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
          const args = [
            "-plaintext",
            "-import-path",
            protoDir,
            "-proto",
            "quantcore/v1/market_data.proto",
            "-d",
            JSON.stringify(body),
            ...extra,
            addr,
            `quantcore.v1.MarketDataService/${method}`,
          ];
          execFile(grpcurl, args, { encoding: "utf8", timeout: 20_000 }, (err, stdout, stderr) =>
            resolve({ status: err ? Number(err.code ?? 1) || 1 : 0, stdout, stderr }),
          );
        });
      const snap = await call("GetSnapshot", { symbols: ["SOLUSDT", "ADAUSDT"] });
      assert.equal(snap.status, 0, snap.stderr);
      const got = JSON.parse(snap.stdout) as {
        updates: { symbol: string; updateId: string; signals: { obi20: number } }[];
      };
      assert.deepEqual(got.updates.map((u) => [u.symbol, u.updateId, u.signals.obi20]).sort(), [
        ["ADAUSDT", "9", -0.5],
        ["SOLUSDT", "7", 0.25],
      ]);
      const list = await call("ListSymbols", {});
      assert.deepEqual((JSON.parse(list.stdout) as { symbols: string[] }).symbols, ["ADAUSDT", "SOLUSDT"]);
      // The stream: the snapshot arrives, then the deadline ends the call as DEADLINE_EXCEEDED
      // (generous: grpcurl starts, dials and parses the .proto files within it on a busy machine).
      // A live update is published once grpcurl's stream is registered.
      const streaming = call("StreamMarketUpdates", { symbols: ["SOLUSDT"] }, ["-max-time", "6"]);
      await waitFor(() => g.clientCount() === 1, "grpcurl's stream registered", { timeoutMs: 6_000 });
      await publish(ns, "SOLUSDT", 8, 0.75);
      const stream = await streaming;
      assert.match(stream.stdout, /"updateId": "7"[\s\S]*"snapshot": true/, stream.stderr);
      assert.match(stream.stdout, /"updateId": "8"[\s\S]*"obi20": 0.75/, "the live update, sent as shared bytes");
      assert.match(stream.stderr, /DeadlineExceeded/);
      const bad = await call("GetSnapshot", { symbols: ["not a symbol"] });
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /Code: InvalidArgument/);
    });
  },
);

for (const [name, transportOf] of [
  ["native gRPC", (g: Gateway) => createGrpcTransport({ baseUrl: g.grpcUrl })],
  ["gRPC-Web", (g: Gateway) => createGrpcWebTransport({ baseUrl: g.httpUrl, httpVersion: "1.1" })],
  [
    "Connect JSON",
    (g: Gateway) => createConnectTransport({ baseUrl: g.httpUrl, httpVersion: "1.1", useBinaryFormat: false }),
  ],
] as const) {
  test(`${name}: with allow_batches, updates ready together arrive as one batch, none lost`, async () => {
    await withGateway({}, async (g, ns) => {
      const client = createClient(MarketDataService, transportOf(g));
      const abort = new AbortController();
      const got: StreamMarketUpdatesResponse[] = [];
      const done = collect(
        client.streamMarketUpdates({ symbols: [], allowBatches: true }, { signal: abort.signal }),
        got,
      );
      await waitFor(() => g.clientCount() === 1, "stream registered");
      // One round trip: the gateway reads all five PUBLISHes in one go, so they are ready together.
      const symbols = ["AUSDT", "BUSDT", "CUSDT", "DUSDT", "EUSDT"];
      const m = redis.multi();
      for (const [i, symbol] of symbols.entries()) {
        const u = create(MarketUpdateSchema, {
          symbol,
          updateId: BigInt(10 + i),
          signals: create(SignalsSchema, { obi20: i / 10 }),
        });
        m.publish(`${ns}:updates`, Buffer.from(toBinary(MarketUpdateSchema, u)));
      }
      await m.exec();
      const flat = () =>
        got.flatMap((r) =>
          r.event.case === "update" ? [r.event.value] : r.event.case === "batch" ? r.event.value.updates : [],
        );
      await waitFor(() => flat().length >= symbols.length, "every update");
      abort.abort();
      await done;
      assert.deepEqual(
        flat().map((u) => [u.symbol, u.updateId, u.signals?.obi20]),
        symbols.map((s, i) => [s, BigInt(10 + i), i / 10]),
      );
      const batchSizes = got
        .filter((r) => r.event.case === "batch")
        .map((r) => (r.event.case === "batch" ? r.event.value.updates.length : 0));
      assert.ok(
        batchSizes.some((n) => n > 1),
        `no multi-symbol batch: ${JSON.stringify(batchSizes)}`,
      );
      assert.ok(flat().every((u) => !u.snapshot && (u.timestamps?.gatewaySendUs ?? 1) > 0));
    });
  });
}

test("a client's cancellation ends its handler at once, not at the next keepalive", async () => {
  await withGateway({ keepaliveIntervalMs: 60_000 }, async (g, ns) => {
    await publish(ns, "BTCUSDT", 1, 0.1);
    const aborts = [new AbortController(), new AbortController()];
    const clients = [
      createClient(MarketDataService, createGrpcTransport({ baseUrl: g.grpcUrl })),
      createClient(MarketDataService, createGrpcWebTransport({ baseUrl: g.httpUrl, httpVersion: "1.1" })),
    ];
    const got: StreamMarketUpdatesResponse[][] = [[], []];
    const done = clients.map((c, i) =>
      collect(c.streamMarketUpdates({ symbols: [] }, { signal: aborts[i]!.signal }), got[i]!),
    );
    await waitFor(() => got.every((m) => updates(m).length === 1), "both snapshots");
    assert.equal(g.clientCount(), 2);
    for (const a of aborts) a.abort();
    await Promise.all(done);
    // Parked handlers race the request's signal: both are gone long before a keepalive would be due.
    await waitFor(() => g.clientCount() === 0, "handlers ended", { timeoutMs: 5_000 });
  });
});

test("an idle stream gets keepalives; a busy one does not", async () => {
  const intervalMs = 300;
  await withGateway({ keepaliveIntervalMs: intervalMs }, async (g, ns) => {
    await publish(ns, "BTCUSDT", 1, 0.1);
    const client = createClient(MarketDataService, createGrpcWebTransport({ baseUrl: g.httpUrl, httpVersion: "1.1" }));
    const abort = new AbortController();
    // Server times: a keepalive's own, an update's gateway send stamp.
    const got: { kind: string; serverUs: number }[] = [];
    const done = (async () => {
      try {
        for await (const m of client.streamMarketUpdates(
          { symbols: [] },
          { signal: abort.signal, timeoutMs: 120_000 },
        )) {
          if (m.event.case === "keepalive") got.push({ kind: "keepalive", serverUs: m.event.value.serverTimeUs });
          if (m.event.case === "update")
            got.push({ kind: "update", serverUs: m.event.value.timestamps?.gatewaySendUs ?? 0 });
        }
      } catch {
        /* ended by the test */
      }
    })();
    await waitFor(() => got.filter((m) => m.kind === "keepalive").length >= 2, "keepalives on the idle stream");
    // Busy: an update every 50 ms (written straight by the fan-out) keeps the stream alive.
    const from = got.length;
    for (let id = 2; id < 42; id++) {
      await publish(ns, "BTCUSDT", id, 0.2);
      await sleep(50);
    }
    await waitFor(() => got.filter((m) => m.kind === "update").length >= 41, "every update");
    abort.abort();
    await done;
    // A keepalive is only due after a whole interval without a message. Judged on the server's own
    // clock, so a stalled machine (a legitimately long gap, then a keepalive) does not fail the test,
    // while a keepalive sent although updates were going out does.
    const busy = got.slice(from);
    busy.forEach((m, i) => {
      if (m.kind !== "keepalive" || i === 0) return;
      const gapMs = (m.serverUs - busy[i - 1]!.serverUs) / 1000;
      assert.ok(gapMs >= intervalMs - 2, `keepalive ${gapMs.toFixed(1)} ms after the previous message while busy`);
    });
    assert.ok(busy.filter((m) => m.kind === "update").length >= 40, "updates while busy");
  });
});

test("bad requests get INVALID_ARGUMENT", async () => {
  await withGateway({ maxSymbolsPerRequest: 3 }, async (g) => {
    const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: g.grpcUrl }));
    for (const symbols of [["btcusdt"], ["A", "B", "C", "D"], ["BTC-USDT"]]) {
      await assert.rejects(
        async () => {
          for await (const _ of client.streamMarketUpdates({ symbols })) break;
        },
        (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument,
      );
    }
    await assert.rejects(
      client.getSnapshot({ symbols: ["nope!"] }),
      (e: unknown) => ConnectError.from(e).code === Code.InvalidArgument,
    );
  });
});

test("CORS: allowed origins get the header, unknown origins do not", async () => {
  await withGateway({ corsAllowedOrigins: ["http://dash.example"] }, async (g) => {
    const url = `${g.httpUrl}/quantcore.v1.MarketDataService/ListSymbols`;
    const pre = (origin: string) =>
      fetch(url, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
    const ok = await pre("http://dash.example");
    assert.equal(ok.headers.get("access-control-allow-origin"), "http://dash.example");
    assert.match(ok.headers.get("access-control-allow-headers") ?? "", /connect-protocol-version/i);
    const bad = await pre("http://evil.example");
    assert.equal(bad.headers.get("access-control-allow-origin"), null);
    const metrics = await fetch(`${g.httpUrl}/metrics`);
    assert.match(await metrics.text(), /quantcore_gateway_clients/);
  });
});
