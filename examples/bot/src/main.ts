// A trading-bot skeleton: subscribes over native gRPC, prints OBI per update (late ones marked) and
// every LIVE/STALE status change, and survives
// gateway restarts by reconnecting with exponential backoff and jitter.
// `--from <ISO time | -1h | -15m> [--speed N]` starts in the past (time travel): the log is replayed
// from then, a handover line marks the switch, and the stream continues live.
import { Code, ConnectError } from "@connectrpc/connect";
import { SymbolState } from "@quantcore/proto";
import { EnvReader, backoffDelayMs, nowUs, sleep } from "@quantcore/runtime";
import { parseBotArgs } from "./args.js";
import { subscribe } from "./client.js";

const env = new EnvReader();
const baseUrl = env.string("GATEWAY_URL", "http://127.0.0.1:50051");
const symbols = env.list("SYMBOLS", ["BTCUSDT", "ETHUSDT"]);
env.done();
const args = parseBotArgs(process.argv.slice(2), Date.now());
/** Set until the handover: a reconnect before it replays again from the same start, after it is live. */
let startTimeUs = args.startTimeUs;

const fmt = (v: number | undefined, digits = 4) => (v === undefined ? "n/a" : v.toFixed(digits));
const abort = new AbortController();
process.on("SIGINT", () => abort.abort());
process.on("SIGTERM", () => abort.abort());

for (let attempt = 0; !abort.signal.aborted;) {
  try {
    for await (const u of subscribe({
      baseUrl,
      symbols,
      signal: abort.signal,
      onReset: (reason) => console.log(`reset: ${reason}`),
      // Silence longer than a few keepalives means the gateway is gone; statuses say when data is.
      keepaliveIntervalMs: 5_000,
      startTimeUs,
      replaySpeed: args.replaySpeed,
      onHandover: (h) => {
        startTimeUs = 0;
        const until = h.replayedUntilUs > 0 ? new Date(h.replayedUntilUs / 1000).toISOString() : "n/a";
        const at = h.positions.map((p) => `${p.symbol}@${p.bookEpoch}:${p.updateId}`).join(" ");
        console.log(
          `handover: ${h.replayedUpdates} updates replayed up to ${until} (last ${at || "none"}); live from here`,
        );
      },
      onStatus: (s) =>
        console.log(
          `${s.symbol.padEnd(9)} status=${SymbolState[s.state]}${s.reason ? ` (${s.reason})` : ""} last id=${s.lastUpdateId}`,
        ),
    })) {
      attempt = 0;
      const s = u.signals;
      const now = nowUs();
      const t = u.timestamps;
      const latencyMs = t && t.ingestReceiveUs > 0 ? (now - t.ingestReceiveUs) / 1000 : NaN;
      const lastHopMs = t && t.gatewaySendUs > 0 ? (now - t.gatewaySendUs) / 1000 : NaN;
      console.log(
        `${u.symbol.padEnd(9)} id=${u.updateId} obi20=${fmt(s?.obi20)} obi5=${fmt(s?.obi5)} mid=${fmt(s?.midPrice, 2)} ` +
          `${u.snapshot ? "snapshot" : startTimeUs > 0 ? `replayed (received ${new Date((t?.ingestReceiveUs ?? 0) / 1000).toISOString()})` : `latency=${latencyMs.toFixed(2)}ms (gateway->bot ${lastHopMs.toFixed(2)}ms)`}` +
          (u.late ? " LATE (old news: not a live value)" : ""),
      );
    }
  } catch (err) {
    if (abort.signal.aborted) break;
    const code = err instanceof ConnectError ? Code[err.code] : "error";
    const delayMs = backoffDelayMs(attempt++, { initialDelayMs: 200, maxDelayMs: 10_000, multiplier: 2 });
    console.error(
      `stream ended (${code}: ${err instanceof Error ? err.message : String(err)}); reconnecting in ${delayMs} ms`,
    );
    await sleep(delayMs, abort.signal).catch(() => {});
  }
}
