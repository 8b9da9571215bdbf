// `npm run demo`: sets the machine up, then runs the whole pipeline locally (scripts/demo.ts).
// Plain Node on purpose: it must work before node_modules exists.
import { spawn } from "node:child_process";
import { ensureNodeModules, ensureSharedData, ensureSystem, repoRoot } from "./lib/setup.mjs";

ensureSystem(["redis", "java", "mvn"]);
ensureNodeModules();
ensureSharedData();
const child = spawn("npx", ["tsx", "scripts/demo.ts", ...process.argv.slice(2)], { cwd: repoRoot, stdio: "inherit" });
// Ctrl-C reaches the whole foreground process group; demo.ts stops what it started.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => child.kill("SIGTERM"));
child.on("close", (code) => process.exit(code ?? 0));
