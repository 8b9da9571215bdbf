// Fails when `buf generate` would change the committed generated code, runs `buf lint`, and
// `buf breaking` against the last released contract (proto-reference/, in every clone): in a
// Kappa design old records stay in Kafka and are replayed from offset 0, and deployed bots keep
// their generated clients, so a change must stay wire-compatible with what was released.
import { execFileSync } from "node:child_process";
const run = (cmd, args) => execFileSync(cmd, args, { stdio: "inherit" });
run("npx", ["buf", "lint"]);
run("npx", ["buf", "breaking", "--against", "proto-reference/v0.1.binpb"]);
run("npx", ["buf", "generate"]);
const diff = execFileSync("git", ["status", "--porcelain", "--", "packages/proto/src/gen"], { encoding: "utf8" });
if (diff.trim() !== "") {
  console.error("generated code is stale; run `npm run generate` and commit:\n" + diff);
  process.exit(1);
}
console.log("buf lint ok; no breaking change against proto-reference/v0.1.binpb; generated code is up to date");
