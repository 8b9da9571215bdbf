// The history scrub's stream: StreamMarketUpdates for one symbol from `window` minutes ago at
// replay speed 0 (as fast as the browser reads), the handover, then live; written into the
// ScrubStore. A log that holds less than the window answers FAILED_PRECONDITION naming where it
// starts: the scrub starts there instead (once). Knows nothing of React.
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { MarketDataService } from "@quantcore/proto";
import { utcTime } from "../lib/format";
import type { ScrubStore } from "./scrubStore";

export const SCRUB_FEED_DEFAULTS = {
  keepaliveIntervalMs: 1_000,
  /** No message for this long (not even a keepalive): the stream is given up. */
  silenceMs: 8_000,
  watchdogMs: 500,
  /** After the horizon the gateway names, so the log still holds the start when the request arrives. */
  horizonMarginMs: 1_000,
} as const;

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

/** The retention horizon a FAILED_PRECONDITION names ("… start after <ISO time>"), in ms. */
export function horizonOf(err: unknown): number | undefined {
  const e = ConnectError.from(err);
  if (e.code !== Code.FailedPrecondition) return undefined;
  const m = /start after (\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(e.rawMessage);
  const ms = m ? Date.parse(m[1]!) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/** Opens the scrub of `symbol` over the last `windowMin` minutes; returns its stop. */
export function startScrub(store: ScrubStore, transport: Transport, symbol: string, windowMin: number): () => void {
  const market = createClient(MarketDataService, transport);
  const stopped = new AbortController();
  void (async () => {
    let startUs = nowUs() - windowMin * 60_000_000;
    store.note = "";
    for (let attempt = 0; attempt < 2 && !stopped.signal.aborted; attempt++) {
      const call = new AbortController();
      const abortCall = () => call.abort();
      stopped.signal.addEventListener("abort", abortCall, { once: true });
      let lastMs = Date.now();
      const watchdog = setInterval(() => {
        if (Date.now() - lastMs > SCRUB_FEED_DEFAULTS.silenceMs) call.abort(new Error("no message from the gateway"));
      }, SCRUB_FEED_DEFAULTS.watchdogMs);
      store.begin(symbol, windowMin, startUs / 1000, (nowUs() - startUs) / 1000);
      try {
        for await (const res of market.streamMarketUpdates(
          {
            symbols: [symbol],
            startTimeUs: startUs,
            replaySpeed: 0,
            allowBatches: true,
            keepaliveIntervalMs: SCRUB_FEED_DEFAULTS.keepaliveIntervalMs,
          },
          { signal: call.signal },
        )) {
          lastMs = Date.now();
          const ev = res.event;
          if (ev.case === "update") store.update(ev.value);
          else if (ev.case === "batch") for (const u of ev.value.updates) store.update(u);
          else if (ev.case === "handover") store.handover(ev.value);
          else if (ev.case === "reset")
            store.note = `continuity lost (${ev.value.reason}): live resumed from a snapshot`;
        }
        store.end("the gateway ended the stream");
        return;
      } catch (err) {
        if (stopped.signal.aborted) return;
        const horizonMs = attempt === 0 ? horizonOf(err) : undefined;
        if (horizonMs !== undefined) {
          startUs = (horizonMs + SCRUB_FEED_DEFAULTS.horizonMarginMs) * 1000;
          store.note = `the log holds history from ${utcTime(horizonMs)} UTC only`;
          continue;
        }
        store.end(call.signal.aborted ? "silent; closed" : ConnectError.from(err).rawMessage);
        return;
      } finally {
        clearInterval(watchdog);
        stopped.signal.removeEventListener("abort", abortCall);
      }
    }
  })();
  return () => stopped.abort();
}
