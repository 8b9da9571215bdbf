import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** The repository root: the nearest ancestor holding turbo.json. */
export function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(path.join(dir, "turbo.json"))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

export function defaultWorkDir(): string {
  return process.env.QUANTCORE_WORK_DIR ?? path.join(repoRoot(), ".quantcore");
}

export function defaultCacheDir(): string {
  return process.env.QUANTCORE_CACHE_DIR ?? path.join(os.homedir(), ".cache", "quantcore");
}
