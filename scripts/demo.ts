// Runs the whole pipeline on this machine with no Docker and no internet:
// local stack (Kafka KRaft + Redis) -> Binance-compatible server replaying recorded frames
// (+ synthetic books for the rest of the universe) -> ingest shards -> compute -> gateway -> bot.
// The dashboard is built first (its output shown), before anything it could freeze is running.
// SIGINT or SIGTERM, at any point, stops every process it started.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { TOP30_USDT, defaultReplayFiles, startBinanceSim, type BinanceSim } from "@quantcore/binance-sim";
import { EnvReader } from "@quantcore/runtime";
import { startStack, type StackHandle } from "@quantcore/stack";
import { runPrefixed } from "./lib/processes.mjs";

const repoRoot = path.resolve(import.meta.dirname, "..");
const env = new EnvReader();
const shards = env.int("DEMO_SHARDS", 3, { min: 1, max: 30 });
const speed = env.int("DEMO_SPEED", 1, { min: 1, max: 1000 });
const syntheticRate = env.int("DEMO_SYNTHETIC_RATE", 10, { min: 0, max: 1000 });
const grpcPort = env.int("GATEWAY_GRPC_PORT", 50051, { min: 0, max: 65535 });
const httpPort = env.int("GATEWAY_HTTP_PORT", 8080, { min: 0, max: 65535 });
const botSymbols = env.string("BOT_SYMBOLS", "BTCUSDT,ETHUSDT");
const webPort = env.int("WEB_PORT", 3000, { min: 1, max: 65535 });
const operatorToken = env.string("GATEWAY_OPERATOR_TOKENS", randomBytes(12).toString("hex"));
env.done();

const children: { name: string; proc: ChildProcess }[] = [];
let stopping = false;
/** Set as each starts: a signal during the start stops whatever already runs. */
const started: { stack?: StackHandle; sim?: BinanceSim } = {};
const build = new AbortController();

// First of all, so a signal during the build or the stack's start is handled too.
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
/** Starting is in progress: a signal stops what runs, and the start sequence exits at its next step. */
let starting = true;

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n[demo] ${signal}: stopping ${children.length} processes, the simulator and the stack`);
  build.abort();
  if (!starting) await stopAll(0);
  // Otherwise the start sequence calls stopAll when the step under way (e.g. Kafka's start) returns.
}

async function stopAll(code: number): Promise<never> {
  await Promise.all(
    children.map(
      ({ proc }) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          proc.once("exit", () => resolve());
          proc.kill("SIGTERM");
          setTimeout(() => proc.kill("SIGKILL"), 5_000).unref();
        }),
    ),
  );
  await started.sim?.close();
  await started.stack?.stop();
  process.exit(code);
}

/** After each start step: stop here if a signal came meanwhile. */
async function checkpoint(): Promise<void> {
  if (stopping) await stopAll(0);
}

function launch(
  name: string,
  script: string,
  extraEnv: Record<string, string>,
  toConsole = false,
  command?: string[],
): void {
  const [cmd, ...args] = command ?? [process.execPath, "--import", "tsx", script];
  const proc = spawn(cmd!, args, {
    cwd: repoRoot,
    env: { ...process.env, ...stack.env(), ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = createWriteStream(path.join(stack.logDir, `${name}.log`));
  proc.stdout!.pipe(log);
  proc.stderr!.pipe(log);
  if (toConsole) proc.stdout!.on("data", (c: Buffer) => process.stdout.write(c));
  proc.on("exit", (code) => {
    if (!stopping) console.error(`[demo] ${name} exited with ${code}; see ${path.join(stack.logDir, `${name}.log`)}`);
  });
  children.push({ name, proc });
}

const webDir = path.join(repoRoot, "apps/web");
// node + next's own entry (not npx) so signals reach next itself.
const nextBin = path.join(repoRoot, "node_modules/next/dist/bin/next");
if (!existsSync(path.join(webDir, ".next/BUILD_ID"))) {
  console.log("[demo] building the dashboard (first run only), before the pipeline starts...");
  const code = await runPrefixed(process.execPath, [nextBin, "build"], {
    cwd: webDir,
    prefix: "[web build] ",
    signal: build.signal,
  });
  await checkpoint();
  if (code !== 0) {
    console.error(`[demo] the dashboard build failed (exit ${code})`);
    process.exit(1);
  }
}

console.log("[demo] starting Kafka (KRaft) and Redis...");
const stack = await startStack({
  onProgress: (e) => {
    if (e.done) console.log(`[stack] ${e.step} ready in ${((e.elapsedMs ?? 0) / 1000).toFixed(1)} s`);
  },
});
started.stack = stack;
await checkpoint();
mkdirSync(stack.logDir, { recursive: true });
const replayed = ["BTCUSDT", "ETHUSDT"];
const sim = await startBinanceSim({
  replayFiles: defaultReplayFiles(),
  speed,
  // The recording's minutes start when ingest subscribes, not while the rest is still starting.
  startReplayOn: "firstSubscribe",
  syntheticSymbols: TOP30_USDT.filter((s) => !replayed.includes(s)),
  syntheticUpdatesPerSecond: syntheticRate,
});
started.sim = sim;
sim.on("replayError", (e: { file: string; reason: string }) =>
  console.error(`[demo] replay error: ${e.file}: ${e.reason}`),
);
await checkpoint();

const busEnv = { BINANCE_WS_URL: sim.wsUrl, BINANCE_REST_URL: sim.restUrl, SHARD_COUNT: String(shards) };
// The supervisor runs the shards (each its slice of apps/ingest/universe.json) and restarts a crashed one.
launch("ingest", "apps/ingest/src/supervisor.ts", busEnv);
launch("compute", "apps/compute/src/main.ts", {});
launch("gateway", "apps/gateway/src/main.ts", {
  GATEWAY_GRPC_PORT: String(grpcPort),
  GATEWAY_HTTP_PORT: String(httpPort),
  GATEWAY_CORS_ORIGINS: `http://localhost:${webPort},http://127.0.0.1:${webPort}`,
  GATEWAY_OPERATOR_TOKENS: operatorToken,
});
launch("web", "", {}, false, [process.execPath, nextBin, "start", "-p", String(webPort), webDir]);
launch("bot", "examples/bot/src/main.ts", { GATEWAY_URL: `http://127.0.0.1:${grpcPort}`, SYMBOLS: botSymbols }, true);
starting = false;
await checkpoint();

console.log(`
QuantCore demo is up.
  Binance-compatible server  ${sim.wsUrl}  (REST ${sim.restUrl}), replay x${speed} from the first subscriber + synthetic books
  Kafka                      ${stack.env().KAFKA_BROKERS}  (topic order_book, 30 partitions)
  Redis                      ${stack.env().REDIS_URL}
  Gateway gRPC (bots)        http://127.0.0.1:${grpcPort}
  Gateway gRPC-Web/Connect   http://127.0.0.1:${httpPort}   (metrics: /metrics)
  Dashboard                  http://127.0.0.1:${webPort}/?gateway=http://127.0.0.1:${httpPort}&token=${operatorToken}
  Logs                       ${stack.logDir}
The bot's updates follow. Ctrl-C stops everything.
`);
