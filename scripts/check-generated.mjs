// Fails when `buf generate` would change the committed generated code, and runs `buf lint`.
import { execFileSync } from "node:child_process";
const run = (cmd, args) => execFileSync(cmd, args, { stdio: "inherit" });
run("npx", ["buf", "lint"]);
run("npx", ["buf", "generate"]);
const diff = execFileSync("git", ["status", "--porcelain", "--", "packages/proto/src/gen"], { encoding: "utf8" });
if (diff.trim() !== "") {
  console.error("generated code is stale; run `npm run generate` and commit:\n" + diff);
  process.exit(1);
}
console.log("buf lint ok; generated code is up to date");
