// The apps as the images run them: each bundled (npm run build), then started with plain node.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { MarketDataService } from "@quantcore/proto";
import { waitFor } from "@quantcore/runtime";
import { startRedis, type RedisHandle } from "@quantcore/stack";

const root = path.resolve(import.meta.dirname, "../..");
let redis: RedisHandle;

before(async () => {
  for (const app of ["gateway", "compute", "ingest"]) {
    const r = spawnSync("npm", ["run", "build", "-w", `@quantcore/app-${app}`], { cwd: root, encoding: "utf8" });
    assert.equal(r.status, 0, `${app} build failed:\n${r.stdout}\n${r.stderr}`);
  }
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

/** Runs a bundle to its exit; every module it imports is resolved before its first line runs. */
function runToExit(file: string, env: Record<string, string>) {
  return spawnSync(process.execPath, [path.join(root, file)], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}

test("the gateway bundle serves gRPC and /healthz, and stops cleanly on SIGTERM", async () => {
  const proc = spawn(process.execPath, ["--enable-source-maps", path.join(root, "apps/gateway/dist/main.mjs")], {
    env: {
      ...process.env,
      REDIS_URL: redis.url,
      REDIS_NAMESPACE: "bundle",
      GATEWAY_GRPC_PORT: "0",
      GATEWAY_HTTP_PORT: "0",
    },
    stdio: ["ignore", "inherit", "pipe"],
  });
  let out = "";
  proc.stderr.on("data", (c: Buffer) => (out += c.toString())); // the log goes to stderr
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  try {
    await waitFor(() => /gateway listening/.test(out), "gateway listening", { timeoutMs: 20_000 });
    const line = JSON.parse(out.split("\n").find((l) => l.includes("gateway listening"))!) as {
      grpc: string;
      http: string;
    };
    assert.equal((await fetch(`${line.http}/healthz`)).status, 200);
    const r = new Redis(redis.url);
    await r.hset("bundle:state", "BTCUSDT", Buffer.alloc(0));
    r.disconnect();
    const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: line.grpc }));
    assert.deepEqual((await client.listSymbols({})).symbols, ["BTCUSDT"]);
  } finally {
    proc.kill("SIGTERM");
  }
  assert.equal(await exited, 0);
});

for (const [name, file, env] of [
  ["compute", "apps/compute/dist/main.mjs", { FROM_BEGINNING: "maybe" }],
  ["ingest", "apps/ingest/dist/main.mjs", { SHARD_COUNT: "0" }],
  ["ingest supervisor", "apps/ingest/dist/supervisor.mjs", { SHARD_COUNT: "many" }],
] as const) {
  test(`the ${name} bundle loads and refuses a bad setting with a clear message`, () => {
    assert.ok(existsSync(path.join(root, file)), `${file} was built`);
    const r = runToExit(file, env);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /invalid configuration/);
    assert.match(r.stdout + r.stderr, new RegExp(Object.keys(env)[0]!));
  });
}
