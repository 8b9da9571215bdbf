// Every service's operations endpoints, as an operator's Prometheus sees them: the ingest, compute
// and gateway apps in their own processes over the real broker and Redis, with traffic from the
// simulator; each /metrics carries its pipeline series with non-zero values (not only the process
// defaults), and /healthz and /readyz answer.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { after, before, test } from "node:test";
import { startBinanceSim, type BinanceSim } from "@quantcore/binance-sim";
import { waitFor } from "@quantcore/runtime";
import { exitWhenDone } from "../support/exit-guard.js";
import { testServices, type TestServices } from "../support/services.js";

const root = path.resolve(import.meta.dirname, "../..");
const run = randomUUID().slice(0, 8);
const ns = `met${run}`;
const topic = `order_book_met_${run}`;
const SYMBOLS = ["SOLUSDT", "XRPUSDT", "ADAUSDT"];
let services: TestServices | undefined;
let sim: BinanceSim;
let env: Record<string, string>;
const procs: { name: string; proc: ChildProcess; log: string[]; exited: Promise<number | null> }[] = [];

before(async () => {
  services = await testServices(topic);
  const { brokers, redisUrl } = services;
  sim = await startBinanceSim({ syntheticSymbols: SYMBOLS, syntheticUpdatesPerSecond: 20 });
  env = {
    KAFKA_BROKERS: brokers.join(","),
    KAFKA_TOPIC: topic,
    REDIS_URL: redisUrl,
    REDIS_NAMESPACE: ns,
    LOG_LEVEL: "info",
  };
});

after(async () => {
  for (const p of procs) p.proc.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
  await sim?.close();
  await services?.stop();
  exitWhenDone();
});

function start(name: string, main: string, extra: Record<string, string>) {
  const proc = spawn(process.execPath, ["--import", "tsx", path.join(root, main)], {
    env: { ...process.env, ...env, ...extra },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: string[] = [];
  // Whole lines only: a chunk may end inside one.
  for (const s of [proc.stdout!, proc.stderr!]) {
    let rest = "";
    s.on("data", (c: Buffer) => {
      const lines = (rest + c.toString()).split("\n");
      rest = lines.pop() ?? "";
      log.push(...lines);
    });
  }
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  procs.push({ name, proc, log, exited });
  return log;
}

/** The field `key` of the first JSON log line whose msg is `msg`. */
const logged = (log: string[], msg: string, key: string) => () => {
  for (const line of log) {
    if (!line.includes(msg)) continue;
    try {
      const v = (JSON.parse(line) as Record<string, unknown>)[key];
      if (typeof v === "string") return v;
    } catch {
      /* not a log line */
    }
  }
  return undefined;
};

/** Sum of every sample of `name` (all label sets) in a Prometheus text exposition. */
function sample(text: string, name: string): number {
  let sum = 0;
  let found = false;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) {
      found = true;
      sum += Number(m[3]);
    }
  }
  return found ? sum : NaN;
}

test("ingest, compute and gateway: /metrics with non-zero pipeline series after traffic; /healthz and /readyz", async () => {
  const ingestLog = start("ingest", "apps/ingest/src/main.ts", {
    BINANCE_WS_URL: sim.wsUrl,
    BINANCE_REST_URL: sim.restUrl,
    SYMBOLS: SYMBOLS.join(","),
    INGEST_METRICS_PORT: "0",
  });
  const computeLog = start("compute", "apps/compute/src/main.ts", {
    KAFKA_GROUP_ID: `met-${run}`,
    COMPUTE_METRICS_PORT: "0",
  });
  const gatewayLog = start("gateway", "apps/gateway/src/main.ts", {
    GATEWAY_GRPC_PORT: "0",
    GATEWAY_HTTP_PORT: "0",
    GATEWAY_UNIVERSE_FILE: "-",
  });
  const opts = { timeoutMs: 60_000, intervalMs: 200 };
  const ingestUrl = (await waitFor(logged(ingestLog, "ingest started", "metrics"), "ingest up", opts)).replace(
    /\/metrics$/,
    "",
  );
  const computeUrl = (await waitFor(logged(computeLog, "compute started", "metrics"), "compute up", opts)).replace(
    /\/metrics$/,
    "",
  );
  const gatewayUrl = await waitFor(logged(gatewayLog, "gateway listening", "http"), "gateway up", opts);

  // Named series of each stage, each non-zero once traffic went through the whole pipeline.
  const wanted: [string, string[]][] = [
    [
      ingestUrl,
      [
        "quantcore_ingest_frames_total",
        "quantcore_ingest_published_total",
        "quantcore_ingest_resyncs_total",
        "quantcore_ingest_snapshot_requests_total",
        "quantcore_ingest_produce_latency_seconds_count",
        "quantcore_ingest_connected",
      ],
    ],
    [
      computeUrl,
      [
        "quantcore_compute_records_total",
        "quantcore_compute_batches_total",
        "quantcore_compute_writes_applied_total",
        "quantcore_compute_redis_write_seconds_count",
      ],
    ],
    [gatewayUrl, ["quantcore_gateway_messages_in_total", "quantcore_layer_latency_seconds_count"]],
  ];
  let last = "";
  await waitFor(
    async () => {
      for (const [url, names] of wanted) {
        const text = await (await fetch(`${url}/metrics`)).text();
        for (const n of names) {
          const v = sample(text, n);
          if (!(v > 0)) {
            last = `${n} = ${v} at ${url}`;
            return false;
          }
        }
      }
      return true;
    },
    "every named series non-zero",
    { timeoutMs: 90_000, intervalMs: 500 },
  ).catch((e: Error) => {
    throw new Error(`${e.message} (last: ${last})`);
  });

  // The lag gauge comes per assigned partition (30, one instance) once compute's broker probe has
  // read the quiet partitions too (a fetch reports only partitions that returned records).
  const lagSeries = (text: string) =>
    text.split("\n").filter((l) => /^quantcore_compute_lag_records\{partition="\d+"\} \d+$/.test(l)).length;
  const computeText = await waitFor(
    async () => {
      const text = await (await fetch(`${computeUrl}/metrics`)).text();
      return lagSeries(text) === 30 && text;
    },
    "a lag series per partition",
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  assert.ok(/^# TYPE process_resident_memory_bytes gauge$/m.test(computeText), "process defaults too");

  for (const url of [ingestUrl, computeUrl, gatewayUrl]) {
    assert.equal((await fetch(`${url}/healthz`)).status, 200, `${url}/healthz`);
    assert.equal((await fetch(`${url}/readyz`)).status, 200, `${url}/readyz`);
  }
  for (const p of procs) p.proc.kill("SIGTERM");
  for (const p of procs) assert.equal(await p.exited, 0, `${p.name} exits cleanly on SIGTERM`);
});
