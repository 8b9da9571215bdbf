import { spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import net from "node:net";
import { QuantCoreError, sleep } from "@quantcore/runtime";

/** A free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function terminate(pid: number, graceMs = 10_000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
    while (isAlive(pid)) await sleep(20);
  }
}

/** Starts a long-lived server process with output appended to `logFile`. */
export function startDaemon(
  cmd: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const fd = openSync(logFile, "a");
  const child = spawn(cmd, args, { stdio: ["ignore", fd, fd], env, detached: false });
  if (child.pid === undefined) throw new QuantCoreError("internal", `could not start ${cmd}`, { retriable: false });
  child.unref();
  // Reap it so no zombie is left behind when it exits before we do.
  child.on("exit", () => {});
  return child.pid;
}

/**
 * Runs a command to completion without blocking the event loop (a JVM tool can take many seconds
 * on a busy machine, and readiness waits of other services share this loop). Resolves with the
 * exit code and the tail of its combined output.
 */
export function runAsync(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; outputTailBytes?: number } = {},
): Promise<{ code: number | null; output: string }> {
  const keep = opts.outputTailBytes ?? 16_384;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (d: Buffer) => {
      output = (output + d.toString()).slice(-keep);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (err) => reject(QuantCoreError.infra(`run ${cmd}`, err, false)));
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** The last `bytes` of a log file ("" when unreadable): for start failures that point at it. */
export function logTail(file: string, bytes = 2_000): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, "r");
    try {
      const buf = Buffer.alloc(Math.min(bytes, size));
      readSync(fd, buf, 0, buf.length, size - buf.length);
      return buf.toString();
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}

/**
 * Waits until `probe` (a real request to the server) succeeds. Fails at once, with the log's
 * tail, when the process has exited; otherwise after `timeoutMs` (generous: a loaded machine can
 * take long to start a JVM, and only a dead process or the deadline ends the wait).
 */
export async function waitUntilReady(
  what: string,
  pid: number,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs: number; logFile: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (!isAlive(pid)) {
      throw new QuantCoreError(
        "unavailable",
        `${what} exited while starting (log ${opts.logFile}): ${logTail(opts.logFile).slice(-1500)}`,
        { retriable: false },
      );
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new QuantCoreError(
        "deadline_exceeded",
        `${what} did not answer within ${opts.timeoutMs} ms (log ${opts.logFile}): ${logTail(opts.logFile).slice(-1500)}`,
        { cause: lastError, retriable: false },
      );
    }
    await sleep(opts.intervalMs);
  }
}

export function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

let aptUpdated = false;
/** Installs Debian packages when we are root; otherwise explains what is missing. */
export function aptInstall(pkgs: string[]): void {
  if (process.getuid?.() !== 0) {
    throw new QuantCoreError("unavailable", `missing ${pkgs.join(", ")}: install with apt-get as root`, {
      retriable: false,
    });
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!aptUpdated) {
    spawnSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
    aptUpdated = true;
  }
  const r = spawnSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...pkgs], {
    stdio: "inherit",
    env,
  });
  if (r.status !== 0)
    throw new QuantCoreError("unavailable", `apt-get install ${pkgs.join(" ")} failed`, { retriable: false });
}
