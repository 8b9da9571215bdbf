// Runs every check and test against one real local stack (Kafka KRaft + Redis), then prints
// one summary line ("tests: N passed, N failed") read by CI.
import { spawn } from "node:child_process";
import path from "node:path";
import { startStack } from "@quantcore/stack";

const repoRoot = path.resolve(import.meta.dirname, "..");
const totals = { pass: 0, fail: 0, skipped: 0 };
const failures: string[] = [];

// A hung step (e.g. a shutdown that never completes) fails the run instead of holding CI until its hard limit.
const STEP_TIMEOUT_MS = 25 * 60_000;
const running = new Set<number>();
// Set once the stack runs, so an interrupted run still stops Kafka and Redis.
const started: { stack?: Awaited<ReturnType<typeof startStack>> } = {};
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    for (const pid of running) killGroup(pid);
    void (started.stack?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}
function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    /* already gone */
  }
}

function step(name: string, cmd: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    console.log(`\n=== ${name}: ${cmd} ${args.join(" ")}`);
    const child = spawn(cmd, args, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
      // Its own process group, so a timeout can stop everything it started.
      detached: true,
    });
    const pid = child.pid!;
    running.add(pid);
    const timer = setTimeout(() => {
      console.log(`\n=== ${name}: still running after ${STEP_TIMEOUT_MS / 60_000} min; stopping it`);
      failures.push(`${name} (timed out)`);
      killGroup(pid);
    }, STEP_TIMEOUT_MS);
    let tail = "";
    child.stdout.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      const lines = (tail + chunk.toString()).split("\n");
      tail = lines.pop() ?? "";
      for (const line of lines) {
        // node:test closes each run with "# pass N", "# fail N", "# skipped N" (turbo prefixes lines).
        const m = /# (pass|fail|skipped) (\d+)\s*$/.exec(line);
        if (m) totals[m[1] as keyof typeof totals] += Number(m[2]);
      }
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      running.delete(pid);
      if (code !== 0) failures.push(`${name} (exit ${code})`);
      resolve(code ?? 1);
    });
  });
}

await step("generated code is current, buf lint", "node", ["scripts/check-generated.mjs"]);
await step("format", "npx", ["prettier", "--check", "."]);
await step("test sets: every test file is unit or integration", "npx", ["tsx", "scripts/test-sets.ts"]);
await step("typecheck + lint", "npx", ["turbo", "run", "typecheck", "lint", "--output-logs=errors-only"]);
// The browser test serves the production build of the dashboard.
await step("build the dashboard", "npx", [
  "turbo",
  "run",
  "build",
  "--filter=@quantcore/web",
  "--output-logs=errors-only",
]);

console.log("\n=== starting the local stack (Kafka KRaft + Redis) shared by the integration tests");
const stack = await startStack();
started.stack = stack;
try {
  const env = stack.env();
  // One package at a time: two cores, and the integration suites share the broker.
  await step(
    "unit, integration and end-to-end tests",
    "npx",
    ["turbo", "run", "test", "--concurrency=1", "--continue"],
    env,
  );
} finally {
  await stack.stop();
}

console.log(`\n${failures.length > 0 ? `FAILED: ${failures.join("; ")}` : "every step passed"}`);
console.log(`tests: ${totals.pass} passed, ${totals.fail} failed`);
process.exit(failures.length > 0 || totals.fail > 0 ? 1 : 0);
