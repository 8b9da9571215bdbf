// The dashboard's two streams from the gateway (market updates, pipeline health), each reopened
// with capped, jittered backoff, and each given up and reopened when silent (a hung gateway never
// ends a stream itself). Writes into the PipelineStore; knows nothing of React.
import { createClient, ConnectError, type Transport } from "@connectrpc/connect";
import { ControlService, MarketDataService } from "@quantcore/proto";
import { LIVENESS_DEFAULTS, offlineThresholdMs, shouldReconnect } from "../lib/liveness";
import type { PipelineStore } from "./pipelineStore";

export const FEED_DEFAULTS = {
  backoffBaseMs: 250,
  backoffCapMs: 5_000,
  healthIntervalMs: 1_000,
  /** The health stream is reopened after this long without a message. */
  healthSilenceMs: 5_000,
  watchdogMs: 500,
} as const;

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
const backoff = (attempt: number) =>
  Math.random() * Math.min(FEED_DEFAULTS.backoffCapMs, FEED_DEFAULTS.backoffBaseMs * 2 ** attempt);
const message = (err: unknown) => (err instanceof ConnectError ? err.rawMessage : String(err));
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

export interface Feed {
  setToken(token: string): void;
  stop(): void;
}

export function startFeed(store: PipelineStore, transport: Transport, initialToken: string): Feed {
  const stopped = new AbortController();
  const market = createClient(MarketDataService, transport);
  const control = createClient(ControlService, transport);
  let token = initialToken;
  let healthAttempt: AbortController | undefined;

  const marketLoop = async () => {
    for (let attempt = 0; !stopped.signal.aborted; attempt++) {
      const call = new AbortController();
      const abortCall = () => call.abort();
      stopped.signal.addEventListener("abort", abortCall, { once: true });
      const startedMs = Date.now();
      // A hung server: reopen after long silence (counted from this attempt's start too).
      const watchdog = setInterval(() => {
        const clock = { ...store.clock, lastMessageMs: Math.max(store.clock.lastMessageMs ?? 0, startedMs) };
        if (shouldReconnect(clock, Date.now())) call.abort(new Error("no message from the gateway"));
      }, FEED_DEFAULTS.watchdogMs);
      try {
        store.streamOpened();
        const stream = market.streamMarketUpdates(
          { symbols: [], allowBatches: true, keepaliveIntervalMs: LIVENESS_DEFAULTS.keepaliveIntervalMs },
          { signal: call.signal },
        );
        for await (const res of stream) {
          attempt = 0;
          const ev = res.event;
          if (ev.case === "update") store.update(ev.value, nowUs());
          else if (ev.case === "batch") {
            const at = nowUs();
            for (const u of ev.value.updates) store.update(u, at);
          } else if (ev.case === "status") store.status(ev.value);
          else if (ev.case === "keepalive") store.keepalive();
          else if (ev.case === "reset") store.reset(ev.value.reason);
        }
        store.streamClosed("the gateway ended the stream");
      } catch (err) {
        if (stopped.signal.aborted) return;
        store.streamClosed(
          call.signal.aborted ? `silent for over ${offlineThresholdMs(store.clock) / 1000} s` : message(err),
        );
      } finally {
        clearInterval(watchdog);
        stopped.signal.removeEventListener("abort", abortCall);
      }
      await sleep(backoff(attempt), stopped.signal);
    }
  };

  const healthLoop = async () => {
    for (let attempt = 0; !stopped.signal.aborted; attempt++) {
      const call = new AbortController();
      healthAttempt = call;
      let lastMs = Date.now();
      const watchdog = setInterval(() => {
        if (Date.now() - lastMs > FEED_DEFAULTS.healthSilenceMs) call.abort(new Error("health stream silent"));
      }, FEED_DEFAULTS.watchdogMs);
      try {
        if (!token) throw new Error("an operator or bot token is needed for pipeline health");
        for await (const res of control.watchPipelineHealth(
          { intervalMs: FEED_DEFAULTS.healthIntervalMs },
          { signal: call.signal, headers: { authorization: `Bearer ${token}` } },
        )) {
          attempt = 0;
          lastMs = Date.now();
          store.setHealth(res.health);
        }
      } catch (err) {
        if (stopped.signal.aborted) return;
        store.setHealth(undefined, call.signal.aborted ? "health stream silent; reconnecting" : message(err));
      } finally {
        clearInterval(watchdog);
      }
      await sleep(token ? backoff(attempt) : 1_000, stopped.signal);
    }
  };

  void marketLoop();
  void healthLoop();
  const ticker = setInterval(() => store.tick(), FEED_DEFAULTS.watchdogMs);
  return {
    setToken(t: string) {
      if (t === token) return;
      token = t;
      healthAttempt?.abort(); // reopen with the new token
    },
    stop() {
      stopped.abort();
      healthAttempt?.abort();
      clearInterval(ticker);
    },
  };
}

/** Operator actions, with the token in the header (never in the URL). */
export function controlClient(transport: Transport) {
  return createClient(ControlService, transport);
}
