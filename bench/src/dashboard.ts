// The dashboard's own cost in a real browser (Debian's Chromium): a gateway fed by a synthetic
// publisher into Redis (no Kafka, no ingest), the production build of apps/web, and the main
// thread's busy share from the DevTools protocol (Performance.getMetrics TaskDuration deltas)
// over a measuring window after a warm-up of data. Once at the demo's rate (30 symbols x 10/s)
// and once at 10x. Not a timed test.
// Usage: npm run dashboard -w @quantcore/bench  [BENCH_WARMUP_SECONDS=60] [BENCH_MEASURE_SECONDS=20]
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { EnvReader, sleep, waitFor } from "@quantcore/runtime";
import { freePort, startRedis } from "@quantcore/stack";
import { startPublisher } from "./dashboard-feed.js";

const env = new EnvReader();
const warmupSeconds = env.int("BENCH_WARMUP_SECONDS", 60, { min: 5 });
const measureSeconds = env.int("BENCH_MEASURE_SECONDS", 20, { min: 5 });
const baseRate = env.int("BENCH_UPDATES_PER_SECOND", 300, { min: 1 });
const chromiumPath = env.string("CHROMIUM_PATH", "/usr/bin/chromium");
env.done();

const root = path.resolve(import.meta.dirname, "../..");
const shots = path.join(os.tmpdir(), "quantcore-dashboard-bench");
mkdirSync(shots, { recursive: true });
const children: { kill: () => void }[] = [];
process.on("exit", () => children.forEach((c) => c.kill()));

for (const [what, args] of [
  ["gateway", ["run", "build", "-w", "@quantcore/app-gateway"]],
  ["web", ["run", "build", "-w", "@quantcore/web"]],
] as const) {
  const r = spawnSync("npm", args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`${what} build failed`);
}

const redis = await startRedis();
const ns = "benchweb";
const webPort = await freePort();
const webUrl = `http://127.0.0.1:${webPort}`;
const httpPort = await freePort();
const gw = spawn(process.execPath, [path.join(root, "apps/gateway/dist/main.mjs")], {
  env: {
    ...process.env,
    REDIS_URL: redis.url,
    REDIS_NAMESPACE: ns,
    GATEWAY_GRPC_PORT: String(await freePort()),
    GATEWAY_HTTP_PORT: String(httpPort),
    GATEWAY_CORS_ORIGINS: webUrl,
    GATEWAY_BOT_TOKENS: "bench-token",
    LOG_LEVEL: "warn",
  },
  stdio: "inherit",
});
children.push({ kill: () => gw.kill() });
const web = spawn("npx", ["next", "start", "-p", String(webPort), "-H", "127.0.0.1"], {
  cwd: path.join(root, "apps/web"),
  stdio: "ignore",
  detached: true,
});
children.push({ kill: () => process.kill(-web.pid!, "SIGTERM") });
await waitFor(() => fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.ok), "gateway up", {
  timeoutMs: 30_000,
});
await waitFor(() => fetch(webUrl).then((r) => r.ok), "next start", { timeoutMs: 60_000, intervalMs: 250 });
const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});

interface Result {
  updatesPerSecond: number;
  mainThreadBusyPercent: number;
  redrawsPerSecond: number;
  domElements: number;
  jsHeapMb: number;
  updatesWritten: number;
}

async function scenario(rate: number): Promise<Result> {
  const publisher = startPublisher(redis.url, ns, rate);
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  try {
    await page.goto(`${webUrl}/?gateway=${encodeURIComponent(`http://127.0.0.1:${httpPort}`)}&token=bench-token`);
    await page.locator('[data-testid="heatmap-row"]').nth(29).waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="heatmap-row"]').first().locator("button").click(); // detail charts on
    await sleep(warmupSeconds * 1000);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable", { timeDomain: "timeTicks" });
    const metric = async () => {
      const { metrics } = await cdp.send("Performance.getMetrics");
      const get = (n: string) => metrics.find((m) => m.name === n)?.value ?? 0;
      return { task: get("TaskDuration"), at: get("Timestamp"), heap: get("JSHeapUsedSize") };
    };
    const redraws = () => page.evaluate(() => (globalThis as unknown as { __qcRedraws?: number }).__qcRedraws ?? 0);
    const [m0, r0] = [await metric(), await redraws()];
    await sleep(measureSeconds * 1000);
    const [m1, r1] = [await metric(), await redraws()];
    const seconds = m1.at - m0.at;
    const domElements = await page.evaluate(
      () =>
        (
          globalThis as unknown as { document: { getElementsByTagName(t: string): { length: number } } }
        ).document.getElementsByTagName("*").length,
    );
    await page.screenshot({ path: path.join(shots, `dashboard-${rate}.png`), fullPage: true });
    return {
      updatesPerSecond: rate,
      mainThreadBusyPercent: Math.round(((m1.task - m0.task) / seconds) * 1000) / 10,
      redrawsPerSecond: Math.round(((r1 - r0) / seconds) * 10) / 10,
      domElements,
      jsHeapMb: Math.round((m1.heap / 1e6) * 10) / 10,
      updatesWritten: publisher.written(),
    };
  } finally {
    await page.close();
    await publisher.stop();
  }
}

const results: Result[] = [];
for (const rate of [baseRate, baseRate * 10]) {
  const r = await scenario(rate);
  console.log(JSON.stringify(r));
  results.push(r);
}
await browser.close();
gw.kill();
process.kill(-web.pid!, "SIGTERM");
await redis.stop();

const meta = {
  what: "main-thread busy share of the dashboard in Chromium (DevTools Performance.getMetrics TaskDuration delta)",
  warmupSeconds,
  measureSeconds,
  symbols: 30,
  viewport: "1440x900, one symbol's detail open",
  budgets: { [`${baseRate}/s`]: "<= 15%", [`${baseRate * 10}/s`]: "<= 40%" },
  host: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "?"}`,
};
const dir = path.join(root, "bench/results");
writeFileSync(path.join(dir, "dashboard.json"), JSON.stringify({ ...meta, results }, null, 2) + "\n");
const md = [
  "# dashboard",
  "",
  ...Object.entries(meta).map(([k, v]) => `- ${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`),
  "",
  "| updates/s | main thread busy | heatmap redraws/s | DOM elements | JS heap (MB) |",
  "|---:|---:|---:|---:|---:|",
  ...results.map(
    (r) =>
      `| ${r.updatesPerSecond} | ${r.mainThreadBusyPercent}% | ${r.redrawsPerSecond} | ${r.domElements} | ${r.jsHeapMb} |`,
  ),
  "",
  `Screenshots: ${shots}`,
  "",
].join("\n");
writeFileSync(path.join(dir, "dashboard.md"), md);
console.log(md);
process.exit(0);
