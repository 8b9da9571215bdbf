// The replaying clients of the time-travel bench, in their own process: K concurrent
// StreamMarketUpdates streams from a start time at a replay speed, each on its own HTTP/2
// connection, as K independent bots backtesting would. Per stream: records replayed, how long
// until the handover, live updates after it, the error (code) that ended it. Driven over IPC.
// The messages are counted off the wire, not decoded (time-travel-wire.ts says why).
import { Code, ConnectError } from "@connectrpc/connect";
import { EnvReader } from "@quantcore/runtime";
import { streamCounted } from "./time-travel-wire.js";

export type ToTtClient =
  | { kind: "run"; clients: number; speed: number; startTimeUs: number; symbols: string[] }
  | { kind: "report" }
  | { kind: "stop" };

export interface StreamStats {
  /** Replayed updates received before the handover. */
  replayed: number;
  /** From the stream's open to its handover, or to the report when not there yet. */
  replaySeconds: number;
  handover: boolean;
  /** Live updates after the handover. */
  live: number;
  /** The code that ended the stream early (e.g. ResourceExhausted), with its message. */
  error?: { code: string; message: string };
}
export type FromTtClient = { kind: "report"; streams: StreamStats[] } | { kind: "stopped" };

const env = new EnvReader();
const baseUrl = env.string("GATEWAY_URL");
/** Every stream has a deadline: silence (no message, not even a keepalive) this long ends it. */
const idleTimeoutMs = env.int("CLIENT_IDLE_TIMEOUT_MS", 30_000, { min: 1000 });
env.done();

interface Running {
  stats: StreamStats;
  openedAtMs: number;
  abort: AbortController;
  done: Promise<void>;
}
let running: Running[] = [];

function open(req: Extract<ToTtClient, { kind: "run" }>): Running {
  const stats: StreamStats = { replayed: 0, replaySeconds: 0, handover: false, live: 0 };
  const abort = new AbortController();
  const openedAtMs = performance.now();
  const done = (async () => {
    let idle = setTimeout(() => abort.abort(new Error("idle")), idleTimeoutMs);
    try {
      await streamCounted(
        baseUrl,
        {
          symbols: req.symbols,
          startTimeUs: req.startTimeUs,
          replaySpeed: req.speed,
          allowBatches: true,
          keepaliveIntervalMs: 1000,
        },
        abort.signal,
        (m) => {
          clearTimeout(idle);
          idle = setTimeout(() => abort.abort(new Error("idle")), idleTimeoutMs);
          if (stats.handover) stats.live += m.updates;
          else stats.replayed += m.updates;
          if (m.handover) {
            stats.handover = true;
            stats.replaySeconds = (performance.now() - openedAtMs) / 1000;
          }
        },
      );
    } catch (err) {
      if (!abort.signal.aborted) {
        const ce = ConnectError.from(err);
        stats.error = { code: Code[ce.code], message: ce.rawMessage };
      }
    } finally {
      clearTimeout(idle);
    }
  })();
  return { stats, openedAtMs, abort, done };
}

async function stopAll(): Promise<void> {
  for (const r of running) r.abort.abort();
  await Promise.all(running.map((r) => r.done));
  running = [];
}

process.on("message", (m: ToTtClient) => {
  if (m.kind === "run") {
    void stopAll().then(() => {
      running = Array.from({ length: m.clients }, () => open(m));
    });
  } else if (m.kind === "report") {
    const now = performance.now();
    const streams = running.map((r) => ({
      ...r.stats,
      replaySeconds: r.stats.handover ? r.stats.replaySeconds : (now - r.openedAtMs) / 1000,
    }));
    process.send?.({ kind: "report", streams } satisfies FromTtClient);
  } else if (m.kind === "stop") {
    void stopAll().then(() => process.send?.({ kind: "stopped" } satisfies FromTtClient));
  }
});
for (const sig of ["SIGTERM", "SIGINT", "disconnect"] as const)
  process.on(sig, () => void stopAll().finally(() => process.exit(0)));
