import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: number[]): Summary {
  const v = [...values].sort((a, b) => a - b);
  const q = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))] ?? NaN;
  const mean = v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  return { count: v.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: v.at(-1) ?? NaN, mean };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** bench/results, created when missing. */
export function resultsDir(): string {
  const dir = path.resolve(import.meta.dirname, "../results");
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes bench/results/<name>.json and <name>.md (a short table). */
export function writeResults(
  name: string,
  meta: Record<string, unknown>,
  rows: Record<string, Summary>,
  unit: string,
): void {
  const dir = resultsDir();
  writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ ...meta, unit, results: rows }, null, 2) + "\n");
  const lines = [
    `# ${name}`,
    "",
    ...Object.entries(meta).map(([k, v]) => `- ${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`),
    "",
    `| layer | count | p50 (${unit}) | p90 (${unit}) | p99 (${unit}) | max (${unit}) |`,
    "|---|---:|---:|---:|---:|---:|",
    ...Object.entries(rows).map(
      ([k, s]) => `| ${k} | ${s.count} | ${round(s.p50)} | ${round(s.p90)} | ${round(s.p99)} | ${round(s.max)} |`,
    ),
    "",
  ];
  writeFileSync(path.join(dir, `${name}.md`), lines.join("\n"));
  console.log(lines.join("\n"));
}
