// Child process of the ingest benchmark (bench/src/ingest.ts): runs the Binance simulator on
// its own event loop and reports, over IPC once a second, what it has sent and how busy its
// loop is. Not meant to be run by hand.
// Argument: JSON of Partial<BinanceSimOptions> (e.g. {"syntheticSymbols":[...],"syntheticUpdatesPerSecond":1000}).
import { performance } from "node:perf_hooks";
import { startBinanceSim, type BinanceSimOptions } from "@quantcore/binance-sim";

export interface SimSample {
  type: "stats";
  /** performance.timeOrigin + performance.now() of this process, ms. */
  atMs: number;
  framesSent: number;
  depthEvents: number;
  restRequests: number;
  connections: number;
  /** Cumulative event-loop active/idle time of this process, ms. */
  eluActive: number;
  eluIdle: number;
  /** Cumulative user + system CPU time of this process, µs. */
  cpuUs: number;
}

export type SimMessage = { type: "ready"; wsUrl: string; restUrl: string } | SimSample;

if (!process.send) throw new Error("ingest-sim.ts runs as a child of bench/src/ingest.ts (needs an IPC channel)");
const send = (m: SimMessage) => process.send?.(m);

const opts = JSON.parse(process.argv[2] ?? "{}") as Partial<BinanceSimOptions>;
const sim = await startBinanceSim(opts);

const sample = (): SimSample => {
  const st = sim.stats();
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  return {
    type: "stats",
    atMs: performance.timeOrigin + performance.now(),
    framesSent: st.framesSent,
    depthEvents: st.depthEvents,
    restRequests: st.restRequests,
    connections: st.connections,
    eluActive: elu.active,
    eluIdle: elu.idle,
    cpuUs: cpu.user + cpu.system,
  };
};
const timer = setInterval(() => send(sample()), 1000);

let closing = false;
const close = () => {
  if (closing) return;
  closing = true;
  clearInterval(timer);
  const hard = setTimeout(() => process.exit(1), 5000);
  hard.unref();
  void sim.close().finally(() => process.exit(0));
};
process.on("SIGTERM", close);
process.on("SIGINT", close);
// The parent went away (crash, SIGKILL): do not outlive it.
process.on("disconnect", close);
process.on("message", (m: unknown) => {
  if (m === "stop") close();
});
send({ type: "ready", wsUrl: sim.wsUrl, restUrl: sim.restUrl });
