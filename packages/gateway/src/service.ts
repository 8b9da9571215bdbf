import { Code, ConnectError, createContextKey, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { MarketDataService, type StreamMarketUpdatesResponse } from "@quantcore/proto";
import { QuantCoreError, SYMBOL_PATTERN, nowUs } from "@quantcore/runtime";
import { toConnectError } from "./errors.js";
import { SnapshotReader, readState } from "./snapshots.js";
import { ClientStream } from "./client-stream.js";
import type { StreamSource } from "./stream-options.js";
import type { DirectSink } from "./direct-drain.js";
import type { FanOut } from "./fanout.js";
import type { Liveness } from "./liveness.js";
import type { Metrics } from "./metrics.js";
import type { GatewayOptions } from "./options.js";
import type { StateStore } from "./state-store.js";
import { parseTimeTravel } from "./time-travel/request.js";
import type { ReplaySource } from "./time-travel/sessions.js";

/** The transport of the current request, so a stalled stream can be closed from outside. */
export interface RequestTransport {
  peer: string;
  /** Ends the stream as RESOURCE_EXHAUSTED (HTTP/2 ENHANCE_YOUR_CALM) or drops the connection. */
  kill(): void;
  /** The response, for the fan-out's direct writes. */
  sink: DirectSink;
}
/**
 * Set per request by the server's contextValues. Not an AsyncLocalStorage: that turns on
 * promise hooks for the whole process, which cost the per-message hot path about 5%.
 */
export const requestTransport = createContextKey<RequestTransport | undefined>(undefined, {
  description: "request transport",
});

export interface ServiceDeps {
  opts: GatewayOptions;
  store: StateStore;
  fanout: FanOut;
  metrics: Metrics;
  liveness: Liveness;
  timeTravel: ReplaySource;
}

function validateSymbols(symbols: string[], max: number): string[] {
  if (symbols.length > max) {
    throw new ConnectError(`at most ${max} symbols per request, got ${symbols.length}`, Code.InvalidArgument);
  }
  for (const s of symbols) {
    if (!SYMBOL_PATTERN.test(s))
      throw new ConnectError(
        `invalid symbol ${JSON.stringify(s.slice(0, 40))}: expected e.g. BTCUSDT`,
        Code.InvalidArgument,
      );
  }
  return [...new Set(symbols)];
}

/** NOT_FOUND naming every requested symbol outside the gateway's universe. */
async function requireKnown(liveness: Liveness, symbols: string[]): Promise<void> {
  let unknown: string[];
  try {
    unknown = await liveness.unknown(symbols);
  } catch (err) {
    throw toConnectError(QuantCoreError.infra("redis read", err));
  }
  if (unknown.length > 0) {
    throw new ConnectError(
      `unknown symbol${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}: not in the gateway's universe (see ListSymbols)`,
      Code.NotFound,
    );
  }
}

/** Binary codecs frame messages alike and get shared encodings; JSON gets objects. */
const BINARY_CONTENT_TYPE = /^application\/(grpc|grpc-web|connect)(\+proto)?$/i;

export function routes(deps: ServiceDeps) {
  const { opts, store, fanout, metrics, liveness } = deps;
  const perPeer = new Map<string, number>();
  const snapshots = new SnapshotReader(store);
  const source: StreamSource = {
    snapshot: (symbols) => snapshots.read(symbols),
    snapshotRetrying: (symbols, signal) => snapshots.readRetrying(symbols, signal),
    statusOf: (symbol) => liveness.statusOf(symbol),
    symbols: () => liveness.symbols(),
  };

  async function* streamMarketUpdates(
    req: {
      symbols: string[];
      maxUpdatesPerSecond: number;
      allowBatches: boolean;
      keepaliveIntervalMs: number;
      startTimeUs: number;
      replaySpeed: number;
    },
    ctx: HandlerContext,
  ): AsyncGenerator<StreamMarketUpdatesResponse> {
    const symbols = validateSymbols(req.symbols, opts.maxSymbolsPerRequest);
    await requireKnown(liveness, symbols);
    const travel = parseTimeTravel(req, nowUs());
    const keepaliveMs =
      req.keepaliveIntervalMs > 0
        ? Math.max(opts.minKeepaliveIntervalMs, req.keepaliveIntervalMs)
        : opts.keepaliveIntervalMs;
    const transport = ctx.values.get(requestTransport);
    const peer = transport?.peer ?? "?";
    if ((perPeer.get(peer) ?? 0) >= opts.maxStreamsPerClient) {
      throw new ConnectError(
        `at most ${opts.maxStreamsPerClient} concurrent streams per client`,
        Code.ResourceExhausted,
      );
    }
    const binary = BINARY_CONTENT_TYPE.test((ctx.requestHeader.get("content-type") ?? "").split(";")[0]!.trim());
    const stream = new ClientStream(
      {
        symbols,
        maxUpdatesPerSecond: req.maxUpdatesPerSecond,
        allowBatches: req.allowBatches,
        keepaliveMs,
        binary,
        // Time travel: live goes through the loop (its handover filter), never written directly.
        sink: binary && !travel ? transport?.sink : undefined,
        limits: { maxPending: opts.maxPendingPerClient, maxLagMs: opts.maxClientLagMs },
        kill: () => transport?.kill(),
      },
      source,
      fanout,
      metrics,
    );
    perPeer.set(peer, (perPeer.get(peer) ?? 0) + 1);
    try {
      if (!travel) yield* stream.messages(ctx.signal);
      else {
        // Time travel: registered live first (the mailbox keeps, conflated, what is published
        // meanwhile; no lag limit yet), then the replay and its handover, then live past the last
        // replayed (book epoch, update id) of each symbol.
        stream.attach();
        try {
          const positions = yield* deps.timeTravel.replay({
            ...travel,
            symbols,
            allowBatches: req.allowBatches,
            binary,
            sink: binary ? transport?.sink : undefined,
            keepaliveMs,
            signal: ctx.signal,
          });
          yield* stream.messages(ctx.signal, { from: "positions", positions });
        } finally {
          stream.detach();
        }
      }
    } catch (err) {
      throw toConnectError(err);
    } finally {
      perPeer.set(peer, (perPeer.get(peer) ?? 1) - 1);
      if (perPeer.get(peer) === 0) perPeer.delete(peer);
    }
  }

  return (router: ConnectRouter) =>
    router.service(MarketDataService, {
      streamMarketUpdates,
      async getSnapshot(req) {
        const symbols = validateSymbols(req.symbols, opts.maxSymbolsPerRequest);
        await requireKnown(liveness, symbols);
        const updates = await readState(store, symbols);
        for (const u of updates) u.snapshot = true;
        const statuses = (symbols.length > 0 ? symbols : liveness.symbols()).map((s) => liveness.statusOf(s));
        // Next to each value, the status names that value's id (its message may not have reached us yet).
        const idOf = new Map(updates.map((u) => [u.symbol, u.updateId]));
        for (const st of statuses) st.lastUpdateId = idOf.get(st.symbol) ?? st.lastUpdateId;
        return { updates, statuses };
      },
      async listSymbols() {
        try {
          return { symbols: (await store.stateSymbols()).sort() };
        } catch (err) {
          throw toConnectError(QuantCoreError.infra("redis read", err));
        }
      },
    });
}
