// Binance-compatible local server: `npx tsx packages/binance-sim/src/cli.ts [--port 9443] [--speed 1]
//   [--symbols SOLUSDT,XRPUSDT] [--synthetic-rate 10] [--start-replay-on start|firstSubscribe]
//   [--no-synthetic-continuation]`
import { parseArgs } from "node:util";
import { TOP30_USDT, defaultReplayFiles, startBinanceSim } from "./index.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    speed: { type: "string", default: "1" },
    symbols: { type: "string" },
    "synthetic-rate": { type: "string", default: "10" },
    "start-replay-on": { type: "string", default: "start" },
    "no-synthetic-continuation": { type: "boolean", default: false },
  },
});
const startReplayOn = values["start-replay-on"];
if (startReplayOn !== "start" && startReplayOn !== "firstSubscribe") {
  console.error(`--start-replay-on must be start or firstSubscribe, got ${startReplayOn}`);
  process.exit(2);
}
const replayed = ["BTCUSDT", "ETHUSDT"];
const sim = await startBinanceSim({
  port: Number(values.port),
  speed: values.speed === "max" ? Infinity : Number(values.speed),
  replayFiles: defaultReplayFiles(),
  syntheticSymbols: values.symbols ? values.symbols.split(",") : TOP30_USDT.filter((s) => !replayed.includes(s)),
  syntheticUpdatesPerSecond: Number(values["synthetic-rate"]),
  startReplayOn,
  syntheticContinuation: !values["no-synthetic-continuation"],
});
console.log(`BINANCE_WS_URL=${sim.wsUrl}\nBINANCE_REST_URL=${sim.restUrl}`);
const stop = () => void sim.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
