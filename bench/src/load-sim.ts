// The load generator of the load bench, in its own process (its CPU is then its own, not the
// bench's): the Binance-compatible server with every symbol of the universe synthetic, or the
// two recorded symbols replayed as the demo does. Configured by env, answers over IPC.
import { TOP30_USDT, defaultReplayFiles, startBinanceSim } from "@quantcore/binance-sim";
import { EnvReader } from "@quantcore/runtime";

export type ToSim = { kind: "stats" } | { kind: "stop" };
export type FromSim =
  | { kind: "ready"; wsUrl: string; restUrl: string; synthetic: number; replayed: string[] }
  | { kind: "stats"; depthEvents: number; framesSent: number; connections: number };

const env = new EnvReader();
const perSymbolRate = Number(env.string("SIM_UPDATES_PER_SECOND_PER_SYMBOL"));
const tickMs = env.int("SIM_TICK_MS", 10, { min: 1, max: 1000 });
const replay = env.oneOf("SIM_REPLAY_RECORDED", ["true", "false"] as const, "false") === "true";
env.done();
if (!(perSymbolRate > 0)) throw new Error(`SIM_UPDATES_PER_SECOND_PER_SYMBOL must be > 0`);

const replayed = replay ? ["BTCUSDT", "ETHUSDT"] : [];
const sim = await startBinanceSim({
  replayFiles: replay ? defaultReplayFiles() : [],
  syntheticSymbols: TOP30_USDT.filter((s) => !replayed.includes(s)),
  syntheticUpdatesPerSecond: perSymbolRate,
  syntheticTickMs: tickMs,
  // The recorded symbols' updates are checked against the recording (load-checks.ts): after it ends
  // (~6 min in) they go quiet rather than carry on with synthetic ids no rebuild knows.
  syntheticContinuation: false,
  // Bench clients all come from 127.0.0.1: Binance's per-IP budgets would only pace the shards' start.
  restWeightPerMinute: 1_000_000,
  maxConnectionsPer5Min: 100_000,
});
const send = (m: FromSim) => process.send?.(m);
send({
  kind: "ready",
  wsUrl: sim.wsUrl,
  restUrl: sim.restUrl,
  synthetic: TOP30_USDT.length - replayed.length,
  replayed,
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await sim.close();
  process.exit(0);
}
process.on("message", (m: ToSim) => {
  if (m.kind === "stats") {
    const s = sim.stats();
    send({ kind: "stats", depthEvents: s.depthEvents, framesSent: s.framesSent, connections: s.connections });
  } else if (m.kind === "stop") void stop();
});
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
process.on("disconnect", () => void stop()); // the bench died: do not linger
