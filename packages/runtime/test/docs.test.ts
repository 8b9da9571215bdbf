// docs/ says what the code does: every env variable a service reads and every Redis key it uses
// is documented (docs/contracts.md, or the README of the app or package that reads the variable).
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { redisKeys, replayNamespace } from "../src/index.js";

const root = path.resolve(import.meta.dirname, "../../..");
const contracts = readFileSync(path.join(root, "docs/contracts.md"), "utf8");

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (f === "node_modules" || f === "gen" || f === "dist" || f === ".next") return [];
    return statSync(p).isDirectory() ? sources(p) : /\.(ts|tsx|mjs)$/.test(f) ? [p] : [];
  });
}

/** Every workspace with code that runs in a service: apps, packages, examples. */
const workspaces = ["apps", "packages", "examples"].flatMap((group) =>
  readdirSync(path.join(root, group)).map((w) => path.join(root, group, w)),
);

const ENV_READ = [
  /env\.(?:string|int|list|oneOf|number|boolean)\(\s*"([A-Z][A-Z0-9_]+)"/g,
  /process\.env\.([A-Z][A-Z0-9_]+)/g,
  /process\.env\["([A-Z][A-Z0-9_]+)"\]/g,
];
/** Set by the platform or the test harness, not configuration of ours. */
const NOT_CONFIG = new Set(["NODE_ENV", "CI", "HOME", "PATH"]);

test("every env variable the code reads is documented", () => {
  const missing: string[] = [];
  let seen = 0;
  for (const ws of workspaces) {
    const readme = existsSync(path.join(ws, "README.md")) ? readFileSync(path.join(ws, "README.md"), "utf8") : "";
    for (const file of sources(path.join(ws, "src")).concat(sources(path.join(ws, "app")))) {
      const text = readFileSync(file, "utf8");
      for (const re of ENV_READ) {
        for (const m of text.matchAll(re)) {
          const name = m[1]!;
          if (NOT_CONFIG.has(name)) continue;
          seen++;
          if (!contracts.includes(`\`${name}\``) && !readme.includes(`\`${name}\``))
            missing.push(`${name} (read in ${path.relative(root, file)})`);
        }
      }
    }
  }
  assert.ok(seen > 40, `found only ${seen} env reads: the scan is broken`);
  assert.deepEqual([...new Set(missing)], [], "document these in docs/contracts.md or the workspace's README.md");
});

test("every Redis key is in docs/contracts.md", () => {
  const keys = Object.values(redisKeys("qc"));
  assert.ok(keys.length >= 10);
  const missing = keys.filter((k) => !contracts.includes(`\`${k}\``));
  assert.deepEqual(missing, [], "add these to the Redis table of docs/contracts.md");
  // The replay namespaces the worker creates (and removes).
  assert.ok(contracts.includes(`\`${replayNamespace("qc", "<id>")}:*\``), "replay namespace documented");
});

test("no Redis key is built outside redisKeys()", () => {
  // A key spelled inline (`${ns}:something`) would escape the check above.
  const offenders: string[] = [];
  for (const ws of workspaces)
    for (const file of sources(path.join(ws, "src"))) {
      if (file.endsWith(path.join("runtime", "src", "contracts.ts"))) continue;
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/`\$\{[a-zA-Z.]*(?:ns|namespace|Namespace)\}:[a-z-]+`/g))
        offenders.push(`${path.relative(root, file)}: ${m[0]}`);
    }
  assert.deepEqual(offenders, []);
});
