// `npm test` (also run by .ci/run): sets the machine up, then runs every check and test.
// Plain Node on purpose: it must work before node_modules exists.
import { spawn } from "node:child_process";
import { forwardSignals } from "./lib/processes.mjs";
import { ensureGrpcurl, ensureNodeModules, ensureSharedData, ensureSystem, repoRoot } from "./lib/setup.mjs";

ensureSystem(["redis", "java", "mvn", "chromium"]);
ensureNodeModules();
ensureSharedData();
const grpcurl = ensureGrpcurl();
const child = spawn(process.execPath, ["--import", "tsx", "scripts/run-tests.ts", ...process.argv.slice(2)], {
  cwd: repoRoot,
  stdio: "inherit",
  env: { ...process.env, ...(grpcurl ? { GRPCURL: grpcurl } : {}) },
});
// A signal to this process alone reaches run-tests.ts, which stops its steps and the stack;
// this process exits with run-tests' code.
forwardSignals(child);
