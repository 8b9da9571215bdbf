import { mkdirSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { QuantCoreError } from "@quantcore/runtime";
import { defaultWorkDir } from "./paths.js";
import { aptInstall, freePort, hasCommand, startDaemon, terminate, waitUntilReady } from "./proc.js";
import { track, untrack } from "./registry.js";

export interface RedisOptions {
  /** 0 = pick a free port; a fixed port lets a test restart Redis where clients expect it. */
  port: number;
  workDir: string;
  /** Until redis-server answers PING; a process that exits fails the start at once. */
  startTimeoutMs: number;
}

export const DEFAULT_REDIS_OPTIONS: Readonly<RedisOptions> = Object.freeze({
  port: 0,
  workDir: defaultWorkDir(),
  startTimeoutMs: 120_000,
});

export interface RedisHandle {
  url: string;
  host: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** One PING over a raw socket: no client library needed to know the server answers. */
export function redisPing(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(5_000, () => done(false));
    sock.on("error", () => done(false));
    // Closed without an answer (e.g. something else on the port hung up): not ready, never pending.
    sock.on("close", () => done(false));
    sock.on("connect", () => sock.write("PING\r\n"));
    sock.on("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

export function ensureRedisServer(): void {
  if (!hasCommand("redis-server")) aptInstall(["redis-server"]);
}

export async function startRedis(opts: Partial<RedisOptions> = {}): Promise<RedisHandle> {
  const o = { ...DEFAULT_REDIS_OPTIONS, ...opts };
  ensureRedisServer();
  const port = o.port || (await freePort());
  const dir = path.join(o.workDir, `redis-${port}-${process.pid}`);
  const logDir = path.join(o.workDir, "logs");
  mkdirSync(dir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  // Persistence off: Kafka is the source of truth; Redis state is rebuilt from it.
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  const logFile = path.join(logDir, `redis-${port}.log`);
  const pid = startDaemon("redis-server", args, logFile);
  track({ pid, kind: "redis", match: "redis-server" });
  try {
    await waitUntilReady(`redis-server on port ${port}`, pid, () => redisPing(port), {
      timeoutMs: o.startTimeoutMs,
      intervalMs: 100,
      logFile,
    });
  } catch (err) {
    await terminate(pid);
    untrack(pid);
    throw QuantCoreError.infra("redis start", err, false);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    host: "127.0.0.1",
    port,
    pid,
    async stop() {
      await terminate(pid, 5_000);
      untrack(pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
