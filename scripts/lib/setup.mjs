// Idempotent machine set-up shared by `npm run demo` and `npm test`: system packages from
// Debian when missing (we are root on the dev machines and in CI), then node_modules.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "../..");

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
let aptUpdated = false;

function aptInstall(pkgs) {
  if (process.getuid?.() !== 0) {
    throw new Error(`missing system packages (${pkgs.join(", ")}); install them with apt-get as root`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!aptUpdated) {
    execFileSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
    aptUpdated = true;
  }
  execFileSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...pkgs], { stdio: "inherit", env });
}

/** `needs`: which system tools this command needs (redis, java, mvn, chromium). */
export function ensureSystem(needs) {
  const missing = [];
  if (needs.includes("redis") && !has("redis-server")) missing.push("redis-server");
  if (needs.includes("java") && !has("java")) missing.push("openjdk-17-jre-headless");
  if (needs.includes("mvn") && !has("mvn")) missing.push("maven");
  if (needs.includes("chromium") && !existsSync("/usr/bin/chromium")) missing.push("chromium");
  if (missing.length > 0) {
    console.log(`[setup] installing ${missing.join(" ")}`);
    aptInstall(missing);
  }
}

/** `npm ci` when node_modules is missing or older than the lockfile. */
export function ensureNodeModules() {
  const marker = path.join(repoRoot, "node_modules/.package-lock.json");
  const lock = path.join(repoRoot, "package-lock.json");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log("[setup] npm ci");
  try {
    execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: repoRoot, stdio: "inherit" });
  } catch {
    // npm 11 can leave other platforms' optional binaries (turbo, buf) out of the lockfile,
    // which `npm ci` then refuses; `npm install` resolves them from the same lockfile.
    console.log("[setup] npm ci refused the lockfile; falling back to npm install");
    execFileSync("npm", ["install", "--no-audit", "--no-fund"], { cwd: repoRoot, stdio: "inherit" });
  }
}

const GRPCURL_MODULE = "github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4";

/**
 * grpcurl for the gateway interop test, built once from the Go module proxy into the cache when
 * Go is installed. Optional: without it that one test reports itself skipped. Returns its path or "".
 */
export function ensureGrpcurl() {
  if (has("grpcurl")) return "grpcurl";
  const bin = path.join(
    process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? "/root", ".cache"),
    "quantcore/bin",
  );
  const exe = path.join(bin, "grpcurl");
  if (existsSync(exe)) return exe;
  if (!has("go")) return "";
  console.log(`[setup] go install ${GRPCURL_MODULE} (first run only)`);
  const r = spawnSync("go", ["install", GRPCURL_MODULE], {
    stdio: "inherit",
    env: { ...process.env, GOBIN: bin, GOFLAGS: "-mod=mod" },
    timeout: 8 * 60_000,
  });
  if (r.status !== 0 || !existsSync(exe)) {
    console.log("[setup] grpcurl could not be built; its interop test will be skipped");
    return "";
  }
  return exe;
}

/**
 * Finds the recorded Binance data (the `shared` folder beside the checkout) and hands its place
 * to every child as QUANTCORE_SHARED_DIR. A clone of a local checkout finds it beside the
 * original. Without it the demo and the tests cannot replay anything: say so and stop.
 */
export function ensureSharedData() {
  const holdsData = (dir) => existsSync(path.join(dir, "data/binance/hftbacktest/spot_btcusdt_20240808.gz"));
  const candidates = [process.env.QUANTCORE_SHARED_DIR, path.resolve(repoRoot, "../shared")];
  const origin = spawnSync("git", ["config", "--get", "remote.origin.url"], { cwd: repoRoot, encoding: "utf8" });
  const url = origin.status === 0 ? origin.stdout.trim() : "";
  if (url && !/^[a-z][a-z0-9+.-]*:/i.test(url) && !/^[^/]+@/.test(url)) {
    candidates.push(path.resolve(repoRoot, url, "../shared"));
  }
  const found = candidates.find((d) => d && holdsData(d));
  if (!found) {
    console.error(
      `[setup] the recorded Binance data was not found (looked in ${candidates.filter(Boolean).join(", ")}).\n` +
        "[setup] Put the shared folder beside the checkout (../shared/data/binance/...) or set QUANTCORE_SHARED_DIR.",
    );
    process.exit(1);
  }
  process.env.QUANTCORE_SHARED_DIR = found;
  return found;
}

export function readJson(p) {
  return JSON.parse(readFileSync(p, "utf8"));
}
