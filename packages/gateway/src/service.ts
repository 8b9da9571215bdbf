import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import {
  KeepaliveSchema,
  MarketDataService,
  MarketUpdateBatchSchema,
  StreamMarketUpdatesResponseSchema,
  StreamResetSchema,
  type StreamMarketUpdatesResponse,
} from "@quantcore/proto";
import { QuantCoreError, SYMBOL_PATTERN, nowUs, sleep } from "@quantcore/runtime";
import { toConnectError } from "./errors.js";
import { SnapshotReader, readState } from "./snapshots.js";
import { writeBacklog } from "./direct-drain.js";
import { SharedStatus, SharedUpdate, preEncodedResponse } from "./encoding.js";
import { Mailbox, type DirectSink, type FanOut } from "./fanout.js";
import type { Liveness } from "./liveness.js";
import type { Metrics } from "./metrics.js";
import { redisKeys, type GatewayOptions } from "./options.js";
import { isAfterHandover, type HandoverPositions } from "./time-travel/handover.js";
import { parseTimeTravel } from "./time-travel/request.js";
import type { TimeTravelSessions } from "./time-travel/sessions.js";

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
  redis: Redis;
  fanout: FanOut;
  metrics: Metrics;
  liveness: Liveness;
  timeTravel: TimeTravelSessions;
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

const respond = (event: StreamMarketUpdatesResponse["event"]) => create(StreamMarketUpdatesResponseSchema, { event });

/** Binary codecs frame messages alike and get shared encodings; JSON gets objects. */
const BINARY_CONTENT_TYPE = /^application\/(grpc|grpc-web|connect)(\+proto)?$/i;

export function routes(deps: ServiceDeps) {
  const { opts, redis, fanout, metrics, liveness } = deps;
  const perPeer = new Map<string, number>();
  const snapshots = new SnapshotReader(redis, opts.redisNamespace);

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
    perPeer.set(peer, (perPeer.get(peer) ?? 0) + 1);
    // Registered BEFORE the snapshot is read, so nothing published in between is missed;
    // updates not newer than what the snapshot sent are dropped below.
    const limits = { maxPending: opts.maxPendingPerClient, maxLagMs: opts.maxClientLagMs };
    // Time travel: live conflates here (latest per symbol) while the replay is read, unbounded in time.
    const liveLimits = { ...limits };
    if (travel) Object.assign(limits, { maxPending: Infinity, maxLagMs: Infinity });
    const box = new Mailbox(
      symbols.length > 0 ? new Set(symbols) : undefined,
      limits,
      req.maxUpdatesPerSecond,
      req.allowBatches,
    );
    box.onFail = () => {
      metrics.clientsEndedForLag.inc();
      transport?.kill();
    };
    fanout.clients.add(box);
    metrics.clients.inc();
    const { sent } = box;
    const binary = BINARY_CONTENT_TYPE.test((ctx.requestHeader.get("content-type") ?? "").split(";")[0]!.trim());
    // The fan-out writes shared frames straight to binary, uncapped streams (a rate cap needs the mailbox).
    const sink = binary && box.minIntervalMs === 0 && !travel ? transport?.sink : undefined;
    /** One message for these updates: alone, or as a batch when the client allows it. */
    const messagesOf = (shared: SharedUpdate[]): StreamMarketUpdatesResponse[] => {
      for (const s of shared) sent.set(s.update.symbol, s.update.updateId);
      const groups = req.allowBatches && shared.length > 1 ? [shared] : shared.map((s) => [s]);
      metrics.messagesOut.inc(groups.length);
      // Serializing a message per client was the fan-out's main cost: binary codecs get shared bytes.
      if (binary) return groups.map(preEncodedResponse);
      return groups.map((g) =>
        g.length === 1
          ? respond({ case: "update", value: g[0]!.update })
          : respond({ case: "batch", value: create(MarketUpdateBatchSchema, { updates: g.map((s) => s.update) }) }),
      );
    };
    /** Right after a snapshot: the status of every requested symbol (unless already sent). */
    function* statuses(): Generator<StreamMarketUpdatesResponse> {
      for (const symbol of symbols.length > 0 ? symbols : liveness.symbols()) {
        const s = new SharedStatus(liveness.statusOf(symbol));
        if (box.statusSent.get(symbol) === s.key) continue;
        box.statusSent.set(symbol, s.key);
        metrics.messagesOut.inc();
        yield s.response();
      }
    }
    try {
      let handover: HandoverPositions | undefined;
      if (travel) {
        // Subscribed live above, before the replay's end offsets are taken: no gap at the switch.
        try {
          handover = yield* deps.timeTravel.replay({
            ...travel,
            symbols,
            allowBatches: req.allowBatches,
            keepaliveMs,
            signal: ctx.signal,
          });
        } catch (err) {
          throw toConnectError(err);
        }
      } else {
        // The snapshot goes out like live updates: one batch when the client allows it.
        for (const m of messagesOf(await snapshots.read(symbols))) yield m;
      }
      yield* statuses();
      while (!ctx.signal.aborted) {
        // Parked with nothing pending: everything yielded so far is written, so the fan-out may write directly.
        if (sink && box.pending() === 0 && !box.resetReason) box.direct = sink;
        await box.waitMs(keepaliveMs, ctx.signal);
        box.direct = undefined;
        if (ctx.signal.aborted) break;
        if (box.failure) throw toConnectError(box.failure);
        if (box.resetReason) {
          const reason = box.resetReason;
          box.resetReason = undefined;
          sent.clear();
          yield respond({ case: "reset", value: create(StreamResetSchema, { reason }) });
          for (const m of messagesOf(await snapshots.readRetrying(symbols, ctx.signal))) yield m;
          yield* statuses();
          continue;
        }
        if (sink?.open()) {
          // Connect is idle (it waits for our next message): write the backlog ourselves, as one
          // frame of shared encodings, once the transport has room (taken after the wait, so it
          // is as conflated as it can be).
          if (!sink.ready()) await sink.drained(ctx.signal);
          if (ctx.signal.aborted || !sink.open()) continue;
          const written = writeBacklog(sink, box.takeEvents(Date.now()), req.allowBatches, sent);
          if (written > 0) {
            metrics.messagesOut.inc(written);
            box.lastWriteAtMs = Date.now();
            continue;
          }
        }
        const now = Date.now();
        const events = box.takeEvents(now);
        // Time travel: what live left pending during the replay is taken; the live limits apply from here.
        if (handover) Object.assign(limits, liveLimits);
        if (events.length === 0 && box.pending() === 0) {
          // Idle this long (direct writes count): a keepalive, so browsers and proxies keep the stream.
          if (now - box.lastWriteAtMs >= keepaliveMs) {
            box.lastWriteAtMs = now;
            yield respond({ case: "keepalive", value: create(KeepaliveSchema, { serverTimeUs: nowUs() }) });
          }
          continue;
        }
        // Updates and status changes in arrival order: runs of updates (batched when allowed) between statuses.
        let run: SharedUpdate[] = [];
        for (let i = 0; i <= events.length; i++) {
          const e = events[i];
          if (e instanceof SharedUpdate) {
            run.push(e);
            continue;
          }
          const fresh = run.filter(
            (s) =>
              (sent.get(s.update.symbol) ?? -1n) < s.update.updateId &&
              (!handover || isAfterHandover(handover, s.update)),
          );
          run = [];
          if (fresh.length > 0) box.lastWriteAtMs = now;
          for (const m of messagesOf(fresh)) yield m;
          if (e) {
            box.lastWriteAtMs = now;
            metrics.messagesOut.inc();
            yield e.response();
          }
        }
        // Only rate-capped symbols are pending: wait out the interval instead of spinning.
        if (events.length === 0) await sleep(box.minIntervalMs, ctx.signal).catch(() => {});
      }
      // Ended by the deadline (or cancellation): say so, rather than finishing with OK.
      throw ConnectError.from(ctx.signal.reason);
    } finally {
      metrics.conflated.inc(box.conflated);
      fanout.clients.delete(box);
      metrics.clients.dec();
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
        const updates = await readState(redis, opts.redisNamespace, symbols);
        for (const u of updates) u.snapshot = true;
        const statuses = (symbols.length > 0 ? symbols : liveness.symbols()).map((s) => liveness.statusOf(s));
        return { updates, statuses };
      },
      async listSymbols() {
        try {
          return { symbols: (await redis.hkeys(redisKeys(opts.redisNamespace).state)).sort() };
        } catch (err) {
          throw toConnectError(QuantCoreError.infra("redis read", err));
        }
      },
    });
}
