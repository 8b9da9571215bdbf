// The gateway under bench as its image runs it (the bundle on plain node), in its own process,
// and what /proc says about that process.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { waitFor } from "@quantcore/runtime";

// Never leave a gateway behind, even when the bench dies ('exit' alone misses uncaught errors).
const gatewaysToKill = new Set<() => void>();
process.on("exit", () => gatewaysToKill.forEach((kill) => kill()));
for (const event of ["uncaughtException", "unhandledRejection"] as const) {
  process.on(event, (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

export interface GatewayProcessOptions {
  redisUrl: string;
  namespace: string;
  grpcPort: number;
  httpPort: number;
  maxStreamsPerClient: number;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs: string[];
}

/** Starts apps/gateway/dist/main.mjs (built beforehand) and waits for /healthz. */
export async function startGatewayProcess(o: GatewayProcessOptions) {
  const gw = spawn(
    process.execPath,
    [...o.nodeArgs, "--enable-source-maps", path.resolve(import.meta.dirname, "../../apps/gateway/dist/main.mjs")],
    {
      env: {
        ...process.env,
        REDIS_URL: o.redisUrl,
        REDIS_NAMESPACE: o.namespace,
        GATEWAY_GRPC_PORT: String(o.grpcPort),
        GATEWAY_HTTP_PORT: String(o.httpPort),
        LOG_LEVEL: "warn",
        GATEWAY_MAX_STREAMS_PER_CLIENT: String(o.maxStreamsPerClient),
      },
      stdio: "inherit",
    },
  );
  const killOnExit = () => gw.kill();
  gatewaysToKill.add(killOnExit);
  await waitFor(() => fetch(`http://127.0.0.1:${o.httpPort}/healthz`).then((r) => r.ok), "gateway up", {
    timeoutMs: 30_000,
  });
  return {
    pid: gw.pid!,
    async stop() {
      gatewaysToKill.delete(killOnExit);
      gw.kill("SIGTERM");
      await new Promise((r) => gw.once("exit", r));
    },
  };
}

export const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

/** utime + stime of a process, in seconds. */
export const cpuSeconds = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // clock ticks of 1/100 s
};

/** The flush-duration histogram as "N flushes, x% <= 1 ms, ..." (the whole process life, warm-up included). */
export function flushesOf(metrics: string): string {
  const buckets = [...metrics.matchAll(/^quantcore_gateway_fanout_flush_seconds_bucket\{le="([^"]+)"\} (\S+)/gm)];
  const total = Number(buckets.find((b) => b[1] === "+Inf")?.[2] ?? 0);
  if (total === 0) return "not reported";
  const shares = buckets
    .filter((b) => b[1] !== "+Inf")
    .map((b) => `${Math.round((Number(b[2]) / total) * 1000) / 10}% <= ${Number(b[1]) * 1000} ms`);
  return `${total} flushes: ${shares.join(", ")}`;
}
