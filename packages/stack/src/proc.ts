import { spawn, spawnSync } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
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
