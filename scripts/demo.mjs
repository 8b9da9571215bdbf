// `npm run demo`: sets the machine up, then runs the whole pipeline locally (scripts/demo.ts).
// Plain Node on purpose: it must work before node_modules exists.
import { spawn } from "node:child_process";
import { forwardSignals } from "./lib/processes.mjs";
import { ensureNodeModules, ensureSharedData, ensureSystem, repoRoot } from "./lib/setup.mjs";

ensureSystem(["redis", "java", "mvn"]);
ensureNodeModules();
ensureSharedData();
// node itself (not npx) runs demo.ts, so the signal forwarded below reaches it directly.
const child = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts", ...process.argv.slice(2)], {
  cwd: repoRoot,
  stdio: "inherit",
});
// SIGINT or SIGTERM sent to this process alone (not only Ctrl-C to the whole process group) stops
// the demo: demo.ts stops every process it started, then this one exits with its code.
forwardSignals(child);
