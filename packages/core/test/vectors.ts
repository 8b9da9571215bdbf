import { readFileSync } from "node:fs";
import path from "node:path";

export const vectorsDir = path.join(import.meta.dirname, "vectors");

export function readVector<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(vectorsDir, name), "utf8")) as T;
}

/** hftbacktest lines: `<local ns> <json>`. */
export function hftLines(name: string): string[] {
  return readFileSync(path.join(vectorsDir, name), "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => l.slice(l.indexOf(" ") + 1));
}

/** cryptofeed ws lines: first line is the URL, then `<unix ts float>: <frame JSON>`. */
export function cryptofeedFrames(name: string): string[] {
  return readFileSync(path.join(vectorsDir, name), "utf8")
    .split("\n")
    .slice(1)
    .filter((l) => l.length > 0)
    .map((l) => l.slice(l.indexOf(": ") + 2));
}

/** cryptofeed http lines: `<url> -> <ts>: <json>`. */
export function cryptofeedSnapshots(name: string): { url: string; body: string }[] {
  return readFileSync(path.join(vectorsDir, name), "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => ({ url: l.slice(0, l.indexOf(" -> ")), body: l.slice(l.indexOf(": ") + 2) }));
}

export function sharedDataDir(): string {
  return process.env.QUANTCORE_SHARED_DIR
    ? path.join(process.env.QUANTCORE_SHARED_DIR, "data")
    : path.resolve(import.meta.dirname, "../../../../shared/data");
}
