// `npm run test:unit`: the inner loop. Every test that needs no service (scripts/test-sets.ts), in
// one node:test run, with no Kafka, Redis or browser: the services' env is removed so a test that
// quietly needed one fails here instead of passing against a stack left running.
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { checkTestSets, repoRoot, testSets } from "./test-sets.js";

const BUDGET_MS = 60_000;
const problems = checkTestSets();
for (const p of problems) console.error(p);
if (problems.length > 0) process.exit(1);

const { unit } = testSets();
const env = { ...process.env };
for (const name of ["KAFKA_BROKERS", "REDIS_URL", "CHROMIUM_PATH"]) delete env[name];
const startedAt = Date.now();
const child = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    `--test-concurrency=${Math.max(2, availableParallelism())}`,
    ...process.argv.slice(2),
    ...unit,
  ],
  { cwd: repoRoot, env, stdio: "inherit" },
);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill(sig));
child.on("close", (code) => {
  const ms = Date.now() - startedAt;
  console.log(`\nunit tests: ${unit.length} files in ${(ms / 1000).toFixed(1)} s (budget ${BUDGET_MS / 1000} s)`);
  if (ms > BUDGET_MS)
    console.warn("over the inner-loop budget: move slow tests to the integration set or speed them up");
  process.exit(code ?? 1);
});
