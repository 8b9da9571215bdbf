// `npm test` (also run by .ci/run): sets the machine up, then runs every check and test.
// Plain Node on purpose: it must work before node_modules exists.
import { spawnSync } from "node:child_process";
import { ensureGrpcurl, ensureNodeModules, ensureSharedData, ensureSystem, repoRoot } from "./lib/setup.mjs";

ensureSystem(["redis", "java", "mvn", "chromium"]);
ensureNodeModules();
ensureSharedData();
const grpcurl = ensureGrpcurl();
const r = spawnSync("npx", ["tsx", "scripts/run-tests.ts", ...process.argv.slice(2)], {
  cwd: repoRoot,
  stdio: "inherit",
  env: { ...process.env, ...(grpcurl ? { GRPCURL: grpcurl } : {}) },
});
process.exit(r.status ?? 1);
