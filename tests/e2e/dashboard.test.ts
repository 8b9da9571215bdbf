// The operator dashboard in a real browser (Debian's Chromium via playwright-core) against the
// real running stack: 30 symbols, 3 ingest shards, compute, gateway over gRPC-Web.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { TOP30_USDT, defaultReplayFiles, startBinanceSim, type BinanceSim } from "@quantcore/binance-sim";
import { createComputeService, type ComputeService } from "@quantcore/compute";
import { createGateway, type Gateway, type GatewayOptions } from "@quantcore/gateway";
import { createIngestService, shardSymbols, type IngestService } from "@quantcore/ingest";
import { waitFor } from "@quantcore/runtime";
import { createTopics, freePort, startStack, type StackHandle } from "@quantcore/stack";
import { exitWhenDone } from "../support/exit-guard.js";

const repo = path.resolve(import.meta.dirname, "../..");
const out = path.join(repo, "tests/test-results/dashboard");
const run = randomUUID().slice(0, 8);
const ns = `web${run}`;
let stack: StackHandle | undefined;
let sim: BinanceSim;
const ingests: IngestService[] = [];
let compute: ComputeService;
let gateway: Gateway;
let gatewayOpts: Partial<GatewayOptions> & { redisUrl: string };
let web: ChildProcess;
let webUrl: string;
let browser: Browser;
let page: Page;

before(async () => {
  mkdirSync(out, { recursive: true });
  let brokers: string[];
  let redisUrl: string;
  if (process.env.KAFKA_BROKERS && process.env.REDIS_URL) {
    brokers = process.env.KAFKA_BROKERS.split(",");
    redisUrl = process.env.REDIS_URL;
  } else {
    stack = await startStack({ topics: [] });
    brokers = stack.kafka!.brokers;
    redisUrl = stack.redis!.url;
  }
  const topic = `order_book_web_${run}`;
  await createTopics(brokers, [
    { name: topic, partitions: 30 },
    { name: `${topic}.dlq`, partitions: 1 },
  ]);
  sim = await startBinanceSim({
    replayFiles: defaultReplayFiles(),
    speed: 1,
    syntheticSymbols: TOP30_USDT.filter((s) => s !== "BTCUSDT" && s !== "ETHUSDT"),
    syntheticUpdatesPerSecond: 5,
  });
  for (let shard = 0; shard < 3; shard++) {
    ingests.push(
      createIngestService({
        wsBaseUrl: sim.wsUrl,
        restBaseUrl: sim.restUrl,
        symbols: shardSymbols(TOP30_USDT, shard, 3),
        shardId: shard,
        kafkaBrokers: brokers,
        kafkaTopic: topic,
        redisUrl,
        redisNamespace: ns,
        restWeightPerMinute: 6000,
      }),
    );
  }
  compute = createComputeService({
    kafkaBrokers: brokers,
    kafkaTopic: topic,
    groupId: `web-${run}`,
    redisUrl,
    redisNamespace: ns,
  });
  const webPort = await freePort();
  webUrl = `http://127.0.0.1:${webPort}`;
  gatewayOpts = {
    redisUrl,
    redisNamespace: ns,
    grpcPort: await freePort(),
    httpPort: await freePort(),
    corsAllowedOrigins: [webUrl],
    kafkaBrokers: brokers,
    kafkaTopic: topic,
    computeGroupId: `web-${run}`,
    operatorTokens: ["op-token"],
  };
  gateway = await createGateway(gatewayOpts);
  for (const i of ingests) await i.start();
  await compute.start();

  const webDir = path.join(repo, "apps/web");
  if (!existsSync(path.join(webDir, ".next/BUILD_ID"))) {
    const b = spawnSync("npx", ["next", "build"], { cwd: webDir, stdio: "inherit" });
    assert.equal(b.status, 0, "next build");
  }
  web = spawn("npx", ["next", "start", "-p", String(webPort), "-H", "127.0.0.1"], {
    cwd: webDir,
    stdio: "ignore",
    detached: true,
  });
  await waitFor(() => fetch(webUrl).then((r) => r.ok), "next start", { timeoutMs: 60_000, intervalMs: 250 });

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1500, height: 1400 } });
  page.on("console", (m) => m.type() === "error" && console.log(`[browser] ${m.text()}`));
  page.on("pageerror", (e) => console.log(`[browser] ${e.message}`));
});

after(async () => {
  await browser?.close();
  if (web?.pid) {
    try {
      process.kill(-web.pid, "SIGTERM");
    } catch {
      /* gone */
    }
  }
  for (const i of ingests) await i.stop();
  await compute?.stop();
  await gateway?.close();
  await sim?.close();
  await stack?.stop();
  exitWhenDone();
});

const liveRows = () => page.locator('[data-testid="heatmap-row"][data-stale="false"]').count();
const obiTexts = () => page.locator('[data-testid="obi-value"]').allInnerTexts();

test("dashboard: 30 live symbols, every shard connected, every latency layer, operator actions, gateway outage and recovery", async () => {
  const loadStarted = Date.now();
  await page.goto(`${webUrl}/?gateway=${encodeURIComponent(gateway.httpUrl)}&token=op-token`);
  await page
    .waitForFunction(
      () => (globalThis as unknown as { __qcFirstValueMs?: number }).__qcFirstValueMs !== undefined,
      null,
      {
        timeout: 60_000,
      },
    )
    .catch(async (e: Error) => {
      await page.screenshot({ path: path.join(out, "no-first-value.png"), fullPage: true });
      throw new Error(`${e.message}; page says: ${(await page.locator("body").innerText()).slice(0, 500)}`);
    });
  const firstValueMs = await page.evaluate(
    () => (globalThis as unknown as { __qcFirstValueMs: number }).__qcFirstValueMs,
  );

  await waitFor(async () => (await liveRows()) === 30, "30 live symbols in the heatmap", {
    timeoutMs: 90_000,
    intervalMs: 250,
  }).catch(async (e: Error) => {
    await page.screenshot({ path: path.join(out, "not-30-live.png"), fullPage: true });
    throw e;
  });
  const before = await obiTexts();
  await waitFor(
    async () => (await obiTexts()).filter((v, i) => v !== before[i]).length >= 10,
    "heatmap values change",
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  await page.screenshot({ path: path.join(out, "heatmap.png"), fullPage: true });

  await waitFor(
    async () => {
      const rows = page.locator('[data-testid="shard-row"]');
      return (
        (await rows.count()) === 3 &&
        (await page.locator('[data-testid="shard-row"][data-connected="true"]').count()) === 3
      );
    },
    "every shard connected",
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  await page.locator('[data-testid="shards"]').screenshot({ path: path.join(out, "shards.png") });

  const layers = ["ingest", "kafka", "compute", "redis -> gateway", "gateway -> browser"];
  await waitFor(
    async () => {
      for (const l of layers)
        if (
          (await page.locator(`[data-testid="latency-row"][data-layer="${l}"]`).getAttribute("data-has-data")) !==
          "true"
        )
          return false;
      return true;
    },
    "latency data for every layer",
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  await page.locator('[data-testid="latency"]').screenshot({ path: path.join(out, "latency.png") });
  const browserRow = await page
    .locator('[data-testid="latency-row"][data-layer="gateway -> browser"] td')
    .allInnerTexts();

  // Symbol detail and an operator action.
  await page.locator('[data-testid="heatmap-row"][data-symbol="SOLUSDT"] button').click();
  await page.locator('[data-testid="symbol-detail"]').waitFor();
  await page.locator('[data-testid="resync"]').click();
  await page.locator('[data-testid="feedback"]', { hasText: "resync SOLUSDT: done" }).waitFor({ timeout: 15_000 });
  await page.locator('[data-testid="symbol-detail"]').screenshot({ path: path.join(out, "symbol-detail.png") });

  // Gateway down: a clear banner, and no value shown as live.
  await gateway.close();
  await page.locator('[data-testid="disconnected-banner"]').waitFor({ timeout: 30_000 });
  await waitFor(async () => (await liveRows()) === 0, "nothing shown as live while disconnected", {
    timeoutMs: 15_000,
    intervalMs: 250,
  });
  await page.screenshot({ path: path.join(out, "gateway-down.png"), fullPage: true });

  // Back on the same ports: the page reconnects by itself.
  gateway = await createGateway(gatewayOpts);
  await page.locator('[data-testid="disconnected-banner"]').waitFor({ state: "detached", timeout: 60_000 });
  await waitFor(async () => (await liveRows()) === 30, "live again after the restart", {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  await page.screenshot({ path: path.join(out, "recovered.png"), fullPage: true });

  writeFileSync(
    path.join(out, "metrics.json"),
    JSON.stringify(
      {
        pageLoadToFirstLiveValueMs: Math.round(firstValueMs),
        testWallClockToFirstValueMs: Date.now() - loadStarted,
        gatewayToBrowserP50Ms: Number(browserRow[1]),
        gatewayToBrowserP99Ms: Number(browserRow[2]),
      },
      null,
      2,
    ),
  );
});
