/// <reference lib="dom" />
// The operator dashboard in a real browser (Debian's Chromium via playwright-core) against the
// real running stack: 30 symbols, 3 ingest shards, compute, and the gateway bundle in its own
// process (so it can be hung with SIGSTOP), over gRPC-Web; a replay worker serves the history scrub.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import AxeBuilder from "@axe-core/playwright";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { chromium, type Browser, type Page } from "playwright-core";
import { TOP30_USDT, defaultReplayFiles, startBinanceSim, type BinanceSim } from "@quantcore/binance-sim";
import { createComputeService, createReplayWorker, type ComputeService, type ReplayWorker } from "@quantcore/compute";
import { createIngestService, shardSymbols, type IngestService } from "@quantcore/ingest";
import { ControlService, MarketDataService } from "@quantcore/proto";
import { sleep, waitFor } from "@quantcore/runtime";
import { freePort } from "@quantcore/stack";
import { exitWhenDone } from "../support/exit-guard.js";
import { testServices, type TestServices } from "../support/services.js";
import { canvasCells, domElements, tableValues } from "../support/dashboard-page.js";

const repo = path.resolve(import.meta.dirname, "../..");
const out = path.join(repo, "tests/test-results/dashboard");
const run = randomUUID().slice(0, 8);
const ns = `web${run}`;
const E2E_LAYER = "end to end (ingest -> gateway)";
let services: TestServices | undefined;
let sim: BinanceSim;
const ingests: IngestService[] = [];
let compute: ComputeService;
let worker: ReplayWorker | undefined;
let gateway: ChildProcess;
let grpcUrl: string;
let httpUrl: string;
let web: ChildProcess;
let webUrl: string;
let browser: Browser;
let page: Page;

before(async () => {
  mkdirSync(out, { recursive: true });
  console.log(`screenshots: ${out}`);
  const topic = `order_book_web_${run}`;
  services = await testServices(topic);
  const { brokers, redisUrl } = services;
  sim = await startBinanceSim({
    replayFiles: defaultReplayFiles(),
    speed: 1,
    syntheticSymbols: TOP30_USDT.filter((s) => s !== "BTCUSDT" && s !== "ETHUSDT"),
    syntheticUpdatesPerSecond: 10,
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
  // The replay worker serves the history scrub's time travel.
  worker = createReplayWorker({ kafkaBrokers: brokers, kafkaTopic: topic, redisUrl, redisNamespace: ns });
  const webPort = await freePort();
  webUrl = `http://127.0.0.1:${webPort}`;
  const b = spawnSync("npm", ["run", "build", "-w", "@quantcore/app-gateway"], { cwd: repo, encoding: "utf8" });
  assert.equal(b.status, 0, `gateway build:\n${b.stdout}\n${b.stderr}`);
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  grpcUrl = `http://127.0.0.1:${grpcPort}`;
  httpUrl = `http://127.0.0.1:${httpPort}`;
  gateway = spawn(process.execPath, ["--enable-source-maps", path.join(repo, "apps/gateway/dist/main.mjs")], {
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      REDIS_NAMESPACE: ns,
      GATEWAY_GRPC_PORT: String(grpcPort),
      GATEWAY_HTTP_PORT: String(httpPort),
      GATEWAY_CORS_ORIGINS: webUrl,
      GATEWAY_OPERATOR_TOKENS: "op-token",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  await waitFor(() => fetch(`${httpUrl}/healthz`).then((r) => r.ok), "gateway up", { timeoutMs: 30_000 });
  for (const i of ingests) await i.start();
  await compute.start();
  await worker.start();

  const webDir = path.join(repo, "apps/web");
  if (!existsSync(path.join(webDir, ".next/BUILD_ID"))) {
    const nb = spawnSync("npx", ["next", "build"], { cwd: webDir, stdio: "inherit" });
    assert.equal(nb.status, 0, "next build");
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
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"],
  });
  // axe needs a page of an explicit context.
  page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
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
  if (gateway?.pid) {
    gateway.kill("SIGCONT");
    gateway.kill("SIGTERM");
  }
  await worker?.stop();
  for (const i of ingests) await i.stop();
  await compute?.stop();
  await sim?.close();
  await services?.stop();
  exitWhenDone();
});

const liveRows = () => page.locator('[data-testid="heatmap-row"][data-stale="false"]').count();
const redraws = () => page.evaluate(() => (globalThis as unknown as { __qcRedraws?: number }).__qcRedraws ?? 0);
const pageNowMs = () => page.evaluate(() => performance.now());
const shot = (name: string) => page.screenshot({ path: path.join(out, name), fullPage: true });

async function seriousA11yViolations(): Promise<string[]> {
  const r = await new AxeBuilder({ page }).analyze();
  return r.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test("dashboard history scrub: a symbol's history replayed up to the handover marker, then live; the scrubber reads either side", async () => {
  await page.goto(`${webUrl}/?gateway=${encodeURIComponent(httpUrl)}&token=op-token`);
  await waitFor(
    async () =>
      (await page.locator('[data-testid="heatmap-row"][data-symbol="BTCUSDT"][data-stale="false"]').count()) === 1,
    "BTCUSDT live",
    { timeoutMs: 90_000, intervalMs: 250 },
  );
  await sleep(10_000); // some history in the log to replay
  const scrub = page.locator('[data-testid="scrub"]');
  const attr = async (name: string) => Number(await scrub.getAttribute(name));
  await page.locator('[data-testid="scrub-symbol"]').selectOption("BTCUSDT");
  // An hour: longer than this test's log, so the scrub starts at the horizon the gateway names.
  await page.locator('[data-testid="scrub-window"]').selectOption("60");
  await page.locator('[data-testid="scrub-open"]').click();
  await waitFor(
    async () => (await scrub.getAttribute("data-phase")) === "live" && (await attr("data-live-points")) >= 3,
    "history, the handover, then live points",
    { timeoutMs: 90_000, intervalMs: 250 },
  ).catch(async (e: Error) => {
    await shot("scrub-not-live.png");
    throw new Error(`${e.message}: ${await page.locator('[data-testid="scrub-status"]').innerText()}`);
  });
  assert.match(await page.locator('[data-testid="scrub-note"]').innerText(), /holds history from \d\d:\d\d:\d\d UTC/);
  const [history, lastHistoryMs, handoverMs, firstLiveMs] = [
    await attr("data-history-points"),
    await attr("data-last-history-ms"),
    await attr("data-handover-ms"),
    await attr("data-first-live-ms"),
  ];
  assert.ok(history >= 5, `${history} history points`);
  assert.ok(
    lastHistoryMs <= handoverMs && handoverMs < firstLiveMs,
    `${lastHistoryMs} / ${handoverMs} / ${firstLiveMs}`,
  );
  assert.equal(Number(await page.locator('[data-testid="scrub-handover"]').first().getAttribute("data-t")), handoverMs);
  // Scrubbed before the handover: a history value; back to the end: live.
  const scrubber = page.locator('[data-testid="scrubber"]');
  const readout = page.locator('[data-testid="scrub-readout"]');
  await scrubber.fill(String(Math.floor(handoverMs) - 1));
  await waitFor(async () => (await readout.getAttribute("data-kind")) === "history", "history at the scrubbed time", {
    timeoutMs: 10_000,
  });
  assert.match(await page.locator('[data-testid="scrub-obi20"]').innerText(), /^-?\d\.\d{3}$/);
  await scrub.screenshot({ path: path.join(out, "scrub-history.png") });
  await scrubber.fill((await scrubber.getAttribute("max"))!);
  await waitFor(async () => (await readout.getAttribute("data-kind")) === "live", "live at the end", {
    timeoutMs: 10_000,
  });
  assert.deepEqual(await seriousA11yViolations(), [], "axe with the scrub open");
  await page.locator('[data-testid="scrub-close"]').click();
  assert.equal(await scrub.getAttribute("data-phase"), "idle");
});

test("dashboard: keeps up, tells the truth, survives a hung gateway, reads well at 1440 and 390 px", async () => {
  await page.goto(`${webUrl}/?gateway=${encodeURIComponent(httpUrl)}&token=op-token`);
  // The token is taken once into sessionStorage and stripped from the address bar.
  await waitFor(async () => !page.url().includes("token="), "token stripped from the URL", { timeoutMs: 30_000 });
  assert.equal(await page.evaluate(() => sessionStorage.getItem("quantcore.token")), "op-token");

  await waitFor(async () => (await liveRows()) === 30, "30 live symbols in the heatmap", {
    timeoutMs: 90_000,
    intervalMs: 250,
  }).catch(async (e: Error) => {
    await shot("not-30-live.png");
    throw e;
  });
  const dataStartedMs = Date.now();
  await waitFor(
    async () => (await page.locator('[data-testid="shard-row"][data-connected="true"]').count()) === 3,
    "every shard connected",
    { timeoutMs: 30_000, intervalMs: 250 },
  );

  // Redraws while data flows: at least one per second, never above the ~3 Hz budget (counted, not timed).
  const [r0, t0] = [await redraws(), await pageNowMs()];
  await sleep(10_000);
  const [r1, t1] = [await redraws(), await pageNowMs()];
  const seconds = (t1 - t0) / 1000;
  assert.ok(r1 - r0 >= Math.floor(seconds) - 1, `${r1 - r0} redraws in ${seconds.toFixed(1)} s: fewer than 1/s`);
  assert.ok(r1 - r0 <= Math.ceil(seconds * 3.2) + 1, `${r1 - r0} redraws in ${seconds.toFixed(1)} s: over budget`);

  // After 60 s of data, with the table view open, the DOM stays small.
  await page.locator('[data-testid="heatmap-row"][data-symbol="SOLUSDT"] button').click();
  await page.locator('[data-testid="symbol-detail"]').waitFor();
  await page.locator('[data-testid="table-toggle"]').click();
  await page.locator('[data-testid="symbol-table"]').waitFor();
  await sleep(Math.max(0, 60_000 - (Date.now() - dataStartedMs)));
  const elements = await domElements(page);
  assert.ok(elements < 1000, `${elements} DOM elements after 60 s of data`);

  // Looks and accessibility at desktop and phone sizes.
  await shot("desktop-1440x900.png");
  assert.deepEqual(await seriousA11yViolations(), [], "axe at 1440x900");
  await page.setViewportSize({ width: 390, height: 844 });
  await sleep(1_500);
  await shot("phone-390x844.png");
  const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(pageWidth <= 390, `page lays out ${pageWidth} px wide at 390 px`);
  assert.deepEqual(await seriousA11yViolations(), [], "axe at 390x844");
  await page.setViewportSize({ width: 1440, height: 900 });

  // An operator action: confirmed, its progress on the row, announced.
  await page.locator('[data-testid="resync"]').click();
  await page.locator('[data-testid="confirm"]').click();
  await page
    .locator('[data-testid="heatmap-row"][data-symbol="SOLUSDT"][data-action="done"]')
    .waitFor({ timeout: 60_000 });
  assert.match(await page.locator('[data-testid="feedback"]').innerText(), /SOLUSDT: resync/);

  // A hung gateway (SIGSTOP): the offline banner, every row stale, history kept; SIGCONT clears it.
  await waitFor(async () => (await liveRows()) === 30, "live before the hang", { timeoutMs: 60_000 });
  const cellsBefore = (await canvasCells(page)).coloured;
  assert.ok(cellsBefore >= 30 * 20, `${cellsBefore} coloured heatmap cells before the hang`);
  gateway.kill("SIGSTOP");
  try {
    await page.locator('[data-testid="disconnected-banner"]').waitFor({ timeout: 60_000 });
    await waitFor(async () => (await liveRows()) === 0, "nothing shown as live while offline", {
      timeoutMs: 15_000,
      intervalMs: 250,
    });
    await shot("gateway-hung.png");
    const during = (await canvasCells(page)).coloured;
    assert.ok(during >= cellsBefore * 0.5, `history kept while offline: ${during} of ${cellsBefore} cells`);
  } finally {
    gateway.kill("SIGCONT");
  }
  await page.locator('[data-testid="disconnected-banner"]').waitFor({ state: "detached", timeout: 90_000 });
  await waitFor(async () => (await liveRows()) === 30, "live again after SIGCONT", {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  await shot("recovered.png");

  // Pause the pipeline (compute stops), then the page's values equal the gateway's own.
  await compute.stop();
  const transport = createGrpcTransport({ baseUrl: grpcUrl });
  const market = createClient(MarketDataService, transport);
  const control = createClient(ControlService, transport);
  let mismatch = "";
  await waitFor(
    async () => {
      const snap = await market.getSnapshot({});
      const shown = await tableValues(page);
      mismatch = "";
      for (const u of snap.updates) {
        const row = shown.get(u.symbol);
        const s = u.signals;
        if (!row || !s) {
          mismatch = `${u.symbol} missing`;
          return false;
        }
        for (const [k, v] of [
          ["obi", s.obi20],
          ["bid", s.bestBidPrice],
          ["ask", s.bestAskPrice],
        ] as const) {
          const text = row[k];
          const decimals = text.split(".")[1]?.length ?? 0;
          if (v === undefined ? text !== "—" : Math.abs(Number(text) - v) > 0.5 * 10 ** -decimals + 1e-12) {
            mismatch = `${u.symbol} ${k}: page ${text}, gateway ${v}`;
            return false;
          }
        }
      }
      return snap.updates.length === 30;
    },
    "table values equal GetSnapshot",
    { timeoutMs: 30_000, intervalMs: 500 },
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${mismatch}`);
  });

  let headline = "";
  await waitFor(
    async () => {
      const abort = new AbortController();
      try {
        for await (const res of control.watchPipelineHealth(
          { intervalMs: 1000 },
          { signal: abort.signal, headers: { authorization: "Bearer op-token" }, timeoutMs: 10_000 },
        )) {
          const l = res.health?.latency.find((x) => x.layer === E2E_LAYER);
          const el = page.locator('[data-testid="e2e"]');
          const [p50, p99] = [await el.getAttribute("data-p50"), await el.getAttribute("data-p99")];
          headline = `page ${p50}/${p99}, gateway ${l?.p50Ms}/${l?.p99Ms}`;
          return l !== undefined && l.count > 0n && Number(p50) === l.p50Ms && Number(p99) === l.p99Ms;
        }
        return false;
      } finally {
        abort.abort();
      }
    },
    "latency headline equals the control plane's end-to-end figures",
    { timeoutMs: 30_000, intervalMs: 200 },
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${headline}`);
  });
  assert.match(await page.locator('[data-testid="browser-latency"]').innerText(), /p50 \d/);

  writeFileSync(
    path.join(out, "metrics.json"),
    JSON.stringify({ domElements: elements, redrawsPerSecond: (r1 - r0) / seconds }, null, 2),
  );
});
