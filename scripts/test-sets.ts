// The two test sets. Unit: needs no service (no Kafka, Redis, browser or build) and runs in
// `npm run test:unit`, the inner loop. Integration: needs the local stack, a browser or built
// bundles. `npm test` runs both. Every test file must be in exactly one set: `checkTestSets()`
// lists the others (run by `npm run test:unit` and by `npm test`).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "..");

/** Paths from the repo root; `*` matches within one path segment. */
export const UNIT = [
  "apps/web/test/*.test.ts",
  "examples/bot/test/*.test.ts",
  "infra/test/*.test.ts",
  "packages/binance-sim/test/*.test.ts",
  "packages/compute/test/signals.test.ts",
  "packages/compute/test/time-travel-plan.test.ts",
  "packages/compute/test/flusher.test.ts",
  "packages/compute/test/priority.test.ts",
  "packages/compute/test/time-travel-budget.test.ts",
  "packages/compute/test/time-travel-writer.test.ts",
  "packages/gateway/test/client-stream.test.ts",
  "packages/gateway/test/direct-write.test.ts",
  "packages/gateway/test/liveness-stall.test.ts",
  "packages/gateway/test/routes.test.ts",
  "packages/gateway/test/time-travel.test.ts",
  "packages/gateway/test/time-travel-routes.test.ts",
  "packages/gateway/test/time-travel-relay.test.ts",
  "packages/core/test/*.test.ts",
  "packages/ingest/test/ack-log.test.ts",
  "packages/ingest/test/book-stamps.test.ts",
  "packages/ingest/test/dead-letter.test.ts",
  "packages/ingest/test/limits.test.ts",
  "packages/ingest/test/platformatic-producer.test.ts",
  "packages/ingest/test/producer.test.ts",
  "packages/ingest/test/rotation.test.ts",
  "packages/ingest/test/send-pacing.test.ts",
  "packages/ingest/test/supervisor.test.ts",
  "packages/ingest/test/universe.test.ts",
  "packages/proto/test/*.test.ts",
  "packages/runtime/test/*.test.ts",
  "packages/stack/test/signals.test.ts",
  "tests/support/*.test.ts",
  "tests/chaos/checker.test.ts",
  "tests/chaos/proxy.test.ts",
];

export const INTEGRATION = [
  // Kafka and Redis
  "packages/compute/test/*.integration.test.ts",
  "packages/ingest/test/ingest.integration.test.ts",
  "packages/ingest/test/produce-client.integration.test.ts",
  "packages/stack/test/stack.test.ts",
  "packages/stack/test/busy.test.ts",
  "packages/stack/test/cluster.test.ts",
  "tests/chaos/short.test.ts",
  // Redis
  "packages/compute/test/redis-writer.test.ts",
  "packages/gateway/test/control.test.ts",
  "packages/gateway/test/flow.test.ts",
  "packages/gateway/test/gateway.test.ts",
  "packages/gateway/test/requests.test.ts",
  "packages/gateway/test/status.test.ts",
  "packages/ingest/test/health.test.ts",
  // the whole pipeline, bundles, the browser
  "tests/e2e/*.test.ts",
];

const toRegExp = (glob: string) =>
  new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}$`);
const matches = (globs: string[], file: string) => globs.some((g) => toRegExp(g).test(file));

/** Every test file in the repository (tracked or new, not ignored). */
export function testFiles(): string[] {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  return out
    .split("\n")
    .filter((f) => /\.test\.(ts|tsx|mts|mjs|js)$/.test(f) && !f.includes("node_modules/"))
    .filter((f) => existsSync(path.join(repoRoot, f))) // deleted but not yet committed
    .sort();
}

export interface TestSets {
  unit: string[];
  integration: string[];
  /** In neither set: nobody runs them on purpose. */
  unclassified: string[];
  /** In both sets. */
  ambiguous: string[];
}

export function testSets(files = testFiles()): TestSets {
  const sets: TestSets = { unit: [], integration: [], unclassified: [], ambiguous: [] };
  for (const f of files) {
    const u = matches(UNIT, f);
    const i = matches(INTEGRATION, f);
    if (u && i) sets.ambiguous.push(f);
    else if (u) sets.unit.push(f);
    else if (i) sets.integration.push(f);
    else sets.unclassified.push(f);
  }
  return sets;
}

/** Problems with the sets, one line each (empty = every test file is in exactly one). */
export function checkTestSets(sets = testSets()): string[] {
  return [
    ...sets.unclassified.map((f) => `${f}: in neither the unit nor the integration set (scripts/test-sets.ts)`),
    ...sets.ambiguous.map((f) => `${f}: in both the unit and the integration set (scripts/test-sets.ts)`),
  ];
}

if (process.argv[1] === import.meta.filename) {
  const problems = checkTestSets();
  for (const p of problems) console.error(p);
  const s = testSets();
  console.log(`test sets: ${s.unit.length} unit, ${s.integration.length} integration, ${problems.length} problems`);
  process.exit(problems.length > 0 ? 1 : 0);
}
