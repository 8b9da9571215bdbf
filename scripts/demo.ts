// Runs the whole pipeline on this machine with no Docker and no internet:
// local stack (Kafka KRaft + Redis) -> Binance-compatible server replaying recorded frames
// (+ synthetic books for the rest of the universe) -> ingest shards -> compute -> gateway -> bot.
// Ctrl-C stops every process it started.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import { TOP30_USDT, defaultReplayFiles, startBinanceSim } from "@quantcore/binance-sim";
import { EnvReader } from "@quantcore/runtime";
import { startStack } from "@quantcore/stack";

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

const stack = await startStack();
const logDir = stack.logDir;
mkdirSync(logDir, { recursive: true });
const replayed = ["BTCUSDT", "ETHUSDT"];
const sim = await startBinanceSim({
  replayFiles: defaultReplayFiles(),
  speed,
  syntheticSymbols: TOP30_USDT.filter((s) => !replayed.includes(s)),
  syntheticUpdatesPerSecond: syntheticRate,
});

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
  const log = createWriteStream(path.join(logDir, `${name}.log`));
  proc.stdout!.pipe(log);
  proc.stderr!.pipe(log);
  if (toConsole) proc.stdout!.on("data", (c: Buffer) => process.stdout.write(c));
  proc.on("exit", (code) => {
    if (!stopping) console.error(`[demo] ${name} exited with ${code}; see ${path.join(logDir, `${name}.log`)}`);
  });
  children.push({ name, proc });
}

const busEnv = { BINANCE_WS_URL: sim.wsUrl, BINANCE_REST_URL: sim.restUrl, SHARD_COUNT: String(shards) };
// The supervisor runs the shards (each its slice of apps/ingest/universe.json) and restarts a crashed one.
launch("ingest", "apps/ingest/src/supervisor.ts", busEnv);
launch("compute", "apps/compute/src/main.ts", {});
launch("replay", "apps/compute/src/main.ts", { COMPUTE_MODE: "replay", COMPUTE_METRICS_PORT: "9301" });
launch("gateway", "apps/gateway/src/main.ts", {
  GATEWAY_GRPC_PORT: String(grpcPort),
  GATEWAY_HTTP_PORT: String(httpPort),
  GATEWAY_CORS_ORIGINS: `http://localhost:${webPort},http://127.0.0.1:${webPort}`,
  GATEWAY_OPERATOR_TOKENS: operatorToken,
});
const webDir = path.join(repoRoot, "apps/web");
if (!existsSync(path.join(webDir, ".next/BUILD_ID"))) {
  console.log("[demo] building the dashboard (first run only)...");
  spawnSync("npx", ["next", "build"], { cwd: webDir, stdio: "ignore" });
}
// node + next's own entry (not npx) so the SIGTERM at shutdown reaches the server itself.
const nextBin = path.join(repoRoot, "node_modules/next/dist/bin/next");
launch("web", "", {}, false, [process.execPath, nextBin, "start", "-p", String(webPort), webDir]);
launch("bot", "examples/bot/src/main.ts", { GATEWAY_URL: `http://127.0.0.1:${grpcPort}`, SYMBOLS: botSymbols }, true);

console.log(`
QuantCore demo is up.
  Binance-compatible server  ${sim.wsUrl}  (REST ${sim.restUrl}), replay x${speed} + synthetic books
  Kafka                      ${stack.env().KAFKA_BROKERS}  (topic order_book, 30 partitions)
  Redis                      ${stack.env().REDIS_URL}
  Gateway gRPC (bots)        http://127.0.0.1:${grpcPort}
  Gateway gRPC-Web/Connect   http://127.0.0.1:${httpPort}   (metrics: /metrics)
  Dashboard                  http://127.0.0.1:${webPort}/?gateway=http://127.0.0.1:${httpPort}&token=${operatorToken}
  Logs                       ${logDir}
The bot's updates follow. Ctrl-C stops everything.
`);

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n[demo] ${signal}: stopping ${children.length} processes, the simulator and the stack`);
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
  await sim.close();
  await stack.stop();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
