// Child processes of the load bench: the apps as deployed (bundles on plain node, tsx as a
// fallback), the load generator and the client. Every child is recorded so that none outlives
// the bench: an orderly stop (SIGTERM, then SIGKILL past a deadline) and, on any exit, a SIGKILL
// of whatever is left, grandchildren (the ingest shards) included.
import { fork, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import { childrenOf } from "./proc-stats.js";

export const repoRoot = path.resolve(import.meta.dirname, "../..");

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  exited: Promise<void>;
}

const live = new Set<Child>();

function killTree(pid: number, signal: NodeJS.Signals): void {
  for (const c of childrenOf(pid)) killTree(c, signal);
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
}

// 'exit' handlers run synchronously: a last sweep for anything an orderly stop did not reach.
process.on("exit", () => {
  for (const c of live) killTree(c.pid, "SIGKILL");
});

export type AppMode = "bundle" | "tsx";

/** Builds apps/<app>/dist/*.mjs as the images do; "tsx" when the build fails (then src/*.ts run via tsx). */
export function buildApps(apps: string[]): Record<string, AppMode> {
  const modes: Record<string, AppMode> = {};
  for (const app of apps) {
    const r = spawnSync("npm", ["run", "build", "-w", `@quantcore/app-${app}`], { cwd: repoRoot, encoding: "utf8" });
    modes[app] = r.status === 0 ? "bundle" : "tsx";
    if (r.status !== 0) console.error(`[load] ${app} bundle build failed, falling back to tsx:\n${r.stderr}`);
  }
  return modes;
}

/** Extra node flags for the services (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`): BENCH_NODE_ARGS. */
function nodeArgs(): string[] {
  return (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
}

/** The command that runs apps/<app>/{dist/<entry>.mjs | src/<entry>.ts}. */
export function appCommand(app: string, entry: string, mode: AppMode): string[] {
  return mode === "bundle"
    ? [process.execPath, "--enable-source-maps", ...nodeArgs(), path.join(repoRoot, `apps/${app}/dist/${entry}.mjs`)]
    : [process.execPath, "--import", "tsx", path.join(repoRoot, `apps/${app}/src/${entry}.ts`)];
}

function track(name: string, proc: ChildProcess, logDir: string): Child {
  if (proc.pid === undefined) throw new Error(`could not start ${name}`);
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(path.join(logDir, `${name}.log`));
  proc.stdout?.pipe(log);
  proc.stderr?.pipe(log);
  const child: Child = {
    name,
    proc,
    pid: proc.pid,
    exited: new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once("exit", () => resolve());
    }),
  };
  void child.exited.then(() => live.delete(child));
  live.add(child);
  return child;
}

/** Starts a process with its output in <logDir>/<name>.log. */
export function launch(name: string, command: string[], env: Record<string, string>, logDir: string): Child {
  const [cmd, ...args] = command;
  const proc = spawn(cmd!, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  return track(name, proc, logDir);
}

/** Forks a bench module (TypeScript, via tsx) with an IPC channel. */
export function forkTs(name: string, file: string, env: Record<string, string>, logDir: string): Child {
  const proc = fork(file, [], {
    cwd: repoRoot,
    execArgv: ["--import", "tsx"],
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  return track(name, proc, logDir);
}

/** The next IPC message of `child` that `accept` takes, or an error at the deadline or if it exits. */
export function nextMessage<T>(
  child: Child,
  accept: (m: unknown) => m is T,
  what: string,
  timeoutMs: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (!accept(m)) return;
      done();
      resolve(m);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`${child.name} exited (${code}) while waiting for ${what}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${child.name}: no ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.proc.off("message", onMessage);
      child.proc.off("exit", onExit);
    };
    child.proc.on("message", onMessage);
    child.proc.once("exit", onExit);
  });
}

/** SIGTERM, then SIGKILL (the whole tree) for what is still running after `timeoutMs`. */
export async function stopChild(child: Child, timeoutMs = 10_000): Promise<void> {
  if (!live.has(child)) return;
  child.proc.kill("SIGTERM");
  const timer = setTimeout(() => killTree(child.pid, "SIGKILL"), timeoutMs);
  await child.exited;
  clearTimeout(timer);
}

/** Stops every child still running, in reverse start order. */
export async function stopAll(timeoutMs = 10_000): Promise<void> {
  for (const c of [...live].reverse()) await stopChild(c, timeoutMs);
}
