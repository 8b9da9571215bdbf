import type { ConnectRouter } from "@connectrpc/connect";
import { SymbolState } from "@quantcore/proto";
import { nowUs, type QuantCoreError } from "@quantcore/runtime";
import { FanOut } from "./fanout.js";
import type { SlidingLatency } from "./latency.js";
import { Liveness } from "./liveness.js";
import type { Metrics } from "./metrics.js";
import type { GatewayOptions } from "./options.js";
import { routes } from "./service.js";
import type { StateStore } from "./state-store.js";
import { TimeTravelSessions, type ReplaySource } from "./time-travel/sessions.js";

export interface MarketData {
  /** Registers MarketDataService on a router. */
  routes(router: ConnectRouter): void;
  clientCount(): number;
  /** The symbols the gateway knows not (for the control plane's NOT_FOUND). */
  unknownSymbols(symbols: readonly string[]): Promise<string[]>;
  /** Subscribes, judges every symbol once, then keeps judging and sweeping for lagging streams. */
  start(): Promise<void>;
  /** Stops judging and ends every open stream with `err`. */
  endStreams(err: QuantCoreError): void;
  close(): Promise<void>;
}

/**
 * The market-data half of the gateway over a state store: the fan-out, liveness and the routes,
 * wired to the metrics. The server gives it Redis; the route tests give it memory.
 */
export function createMarketData(deps: {
  opts: GatewayOptions;
  store: StateStore;
  metrics: Metrics;
  latency?: SlidingLatency;
  onRejected: (contract: string) => void;
  /** Time travel's replays; by default sessions with the replay workers (a test may give a fake). */
  timeTravel?: ReplaySource;
}): MarketData {
  const { opts, store, metrics, latency } = deps;
  const fanout = new FanOut(store, opts.lateAfterMs);
  const liveness = new Liveness(store, opts.redisNamespace, opts);
  liveness.onRejected = deps.onRejected;
  fanout.onMessage = (u) => {
    metrics.messagesIn.inc();
    latency?.observe(u, nowUs());
    liveness.observe(u, Date.now());
  };
  fanout.onSent = (u) => {
    metrics.observe(u);
    if (u.late) metrics.lateUpdates.inc();
  };
  fanout.onDirectWrites = (n) => metrics.messagesOut.inc(n);
  fanout.onFlushed = (ms) => metrics.fanoutFlush.observe(ms / 1000);
  // One judge per gateway: only changes reach the streams, through the fan-out's ordered path.
  liveness.onChanges = (changes) => {
    for (const s of changes) metrics.statusChanges.inc({ state: SymbolState[s.state] });
    fanout.broadcastStatuses(changes);
  };
  // Time travel: sessions with the replay workers over Redis (connections opened per session).
  let timeTravel = deps.timeTravel;
  if (!timeTravel) {
    const sessions = new TimeTravelSessions(opts.redisUrl, opts.redisNamespace, opts.timeTravel);
    metrics.trackTimeTravel(sessions);
    timeTravel = sessions;
  }
  let sweep: NodeJS.Timeout | undefined;
  return {
    routes: routes({ opts, store, fanout, metrics, liveness, timeTravel }),
    clientCount: () => fanout.clients.size,
    unknownSymbols: (symbols) => liveness.unknown(symbols),
    async start() {
      try {
        await fanout.start();
        // Every symbol is judged before the first stream asks for its status.
        await liveness.start();
      } catch (err) {
        liveness.close();
        await fanout.close();
        throw err;
      }
      // A stalled client never resumes its stream, so lag is also checked on a timer.
      sweep = setInterval(
        () => {
          const now = Date.now();
          for (const c of fanout.clients) c.checkLag(now);
        },
        Math.max(50, Math.min(1000, opts.maxClientLagMs / 2)),
      );
    },
    endStreams(err) {
      clearInterval(sweep);
      liveness.close();
      for (const c of fanout.clients) c.fail(err);
    },
    async close() {
      clearInterval(sweep);
      liveness.close();
      await fanout.close();
    },
  };
}
