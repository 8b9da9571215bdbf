// The exchange of the fault suite, in its own process: the Binance-compatible server with every
// symbol of the universe synthetic at a steady rate. Over IPC it reports its URLs and, asked,
// pushes a burst of malformed and oversize frames to the subscribers of some symbols.
import { TOP30_USDT, startBinanceSim } from "@quantcore/binance-sim";
import { EnvReader } from "@quantcore/runtime";

export type ToSim = { kind: "bad-frames"; symbols: string[]; malformed: number; oversizeBytes: number };
export type FromSim =
  { kind: "ready"; wsUrl: string; restUrl: string } | { kind: "bad-frames-sent"; malformed: number; oversize: number };

const env = new EnvReader();
const perSymbolRate = env.int("SIM_UPDATES_PER_SECOND_PER_SYMBOL", 5, { min: 1 });
env.done();

const sim = await startBinanceSim({
  replayFiles: [],
  syntheticSymbols: [...TOP30_USDT],
  syntheticUpdatesPerSecond: perSymbolRate,
  syntheticTickMs: 50,
  restWeightPerMinute: 1_000_000,
  maxConnectionsPer5Min: 100_000,
});
const send = (m: FromSim) => process.send?.(m);
send({ kind: "ready", wsUrl: sim.wsUrl, restUrl: sim.restUrl });

const MALFORMED = [
  "{not json",
  '{"stream":"x@depth@100ms","data":{"e":"depthUpdate","E":"soon","s":"?","U":-1,"u":"x","b":[["a","b"]],"a":7}}',
  '{"stream":"SYM@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"SYM","U":5,"u":4,"b":[["NaN","1"]],"a":[["1e400","1"]]}}',
  "null",
  "[]",
];

process.on("message", (m: ToSim) => {
  if (m.kind !== "bad-frames") return;
  let malformed = 0;
  let oversize = 0;
  for (const symbol of m.symbols) {
    const lower = symbol.toLowerCase();
    for (let i = 0; i < m.malformed; i++) {
      sim.faults.injectRaw(
        symbol,
        MALFORMED[i % MALFORMED.length]!.replaceAll("SYM", symbol).replace("x@", `${lower}@`),
      );
      malformed++;
    }
    if (m.oversizeBytes > 0) {
      sim.faults.injectRaw(
        symbol,
        `{"stream":"${lower}@depth@100ms","data":{"e":"depthUpdate","pad":"${"x".repeat(m.oversizeBytes)}"}}`,
      );
      oversize++;
    }
  }
  send({ kind: "bad-frames-sent", malformed, oversize });
});
const stop = () => void sim.close().then(() => process.exit(0));
for (const sig of ["SIGTERM", "SIGINT", "disconnect"] as const) process.on(sig, stop);
