// The repository's shape: no source file over 300 lines (tests 500), outside generated code, and
// no import cycle, within a package or across packages.
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

const root = path.resolve(import.meta.dirname, "../../..");
const MAX_SOURCE_LINES = 300;
const MAX_TEST_LINES = 500;
/**
 * Files already over the limit when the check came, at their size then: they may shrink, never
 * grow, and leave this list once split (issue #15). Nothing may join it.
 */
const KNOWN_OVER: Record<string, number> = {
  "bench/src/ingest.ts": 413,
};

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    if (["node_modules", "gen", "dist", ".next", "test-results"].includes(f)) return [];
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|tsx|mjs)$/.test(f) && !f.endsWith(".d.ts") ? [p] : [];
  });
}

const workspaces = ["apps", "packages", "examples"]
  .flatMap((g) => readdirSync(path.join(root, g)).map((w) => path.join(root, g, w)))
  .concat(["bench", "infra", "tests"].map((w) => path.join(root, w)));
const allFiles = workspaces
  .flatMap((w) => ["src", "test", "app", "e2e", "support"].flatMap((d) => files(path.join(w, d))))
  .concat(files(path.join(root, "scripts")));

test("no source file over 300 lines, no test file over 500 (generated code aside)", () => {
  const over: string[] = [];
  for (const f of allFiles) {
    const rel = path.relative(root, f);
    const lines = readFileSync(f, "utf8").split("\n").length - 1;
    const limit =
      KNOWN_OVER[rel] ?? (/\.test\.tsx?$|\/test\/|\/e2e\/|\/support\//.test(rel) ? MAX_TEST_LINES : MAX_SOURCE_LINES);
    if (lines > limit) over.push(`${rel}: ${lines} lines (at most ${limit}): cut it at a seam`);
  }
  assert.deepEqual(over, []);
});

/** Resolves a relative import to a file of the repo, or a workspace package to its entry. */
function resolve(from: string, spec: string, packages: Map<string, string>): string | undefined {
  if (spec.startsWith(".")) {
    const base = path.resolve(path.dirname(from), spec);
    for (const c of [
      base,
      base.replace(/\.js$/, ".ts"),
      base.replace(/\.js$/, ".tsx"),
      `${base}.ts`,
      `${base}.tsx`,
      path.join(base, "index.ts"),
    ])
      if (existsSync(c) && statSync(c).isFile()) return c;
    return undefined;
  }
  return packages.get(spec);
}

test("no import cycle (type-only imports count: they tie the files together all the same)", () => {
  const packages = new Map<string, string>();
  for (const w of workspaces) {
    const pj = path.join(w, "package.json");
    if (!existsSync(pj)) continue;
    const { name, exports } = JSON.parse(readFileSync(pj, "utf8")) as {
      name: string;
      exports?: Record<string, string>;
    };
    const entry = typeof exports?.["."] === "string" ? path.join(w, exports["."]) : undefined;
    if (entry && existsSync(entry)) packages.set(name, entry);
  }
  const sources = allFiles.filter((f) => !/\.test\.tsx?$/.test(f));
  const edges = new Map<string, string[]>();
  for (const f of sources) {
    const text = readFileSync(f, "utf8");
    const deps = new Set<string>();
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/g)) {
      const to = resolve(f, m[1]!, packages);
      if (to && to !== f) deps.add(to);
    }
    edges.set(f, [...deps]);
  }
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, "open");
    stack.push(f);
    for (const d of edges.get(f) ?? []) {
      if (state.get(d) === "open") {
        cycles.push(
          stack
            .slice(stack.indexOf(d))
            .concat(d)
            .map((x) => path.relative(root, x))
            .join(" -> "),
        );
      } else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of sources) if (!state.has(f)) visit(f);
  assert.ok(edges.size > 100, `only ${edges.size} files scanned: the scan is broken`);
  assert.deepEqual(cycles, []);
});
