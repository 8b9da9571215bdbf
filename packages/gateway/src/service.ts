import { AsyncLocalStorage } from "node:async_hooks";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import {
  KeepaliveSchema,
  MarketDataService,
  MarketUpdateBatchSchema,
  MarketUpdateSchema,
  StreamMarketUpdatesResponseSchema,
  StreamResetSchema,
  type MarketUpdate,
  type StreamMarketUpdatesResponse,
} from "@quantcore/proto";
import { QuantCoreError, backoffDelayMs, nowUs, sleep } from "@quantcore/runtime";
import { toConnectError } from "./errors.js";
import { Mailbox, type FanOut } from "./fanout.js";
import type { Metrics } from "./metrics.js";
import { redisKeys, type GatewayOptions } from "./options.js";

const SYMBOL_RE = /^[A-Z0-9]{2,20}$/;

/** The transport of the current request, so a stalled stream can be closed from outside. */
export interface RequestTransport {
  peer: string;
  /** Ends the stream as RESOURCE_EXHAUSTED (HTTP/2 ENHANCE_YOUR_CALM) or drops the connection. */
  kill(): void;
}
export const requestTransport = new AsyncLocalStorage<RequestTransport>();

export interface ServiceDeps {
  opts: GatewayOptions;
  redis: Redis;
  fanout: FanOut;
  metrics: Metrics;
}

function validateSymbols(symbols: string[], max: number): string[] {
  if (symbols.length > max) {
    throw new ConnectError(`at most ${max} symbols per request, got ${symbols.length}`, Code.InvalidArgument);
  }
  for (const s of symbols) {
    if (!SYMBOL_RE.test(s))
      throw new ConnectError(
        `invalid symbol ${JSON.stringify(s.slice(0, 40))}: expected e.g. BTCUSDT`,
        Code.InvalidArgument,
      );
  }
  return [...new Set(symbols)];
}

async function readState(redis: Redis, ns: string, symbols: string[]): Promise<MarketUpdate[]> {
  const key = redisKeys(ns).state;
  try {
    const values: (Buffer | null)[] =
      symbols.length === 0 ? Object.values(await redis.hgetallBuffer(key)) : await redis.hmgetBuffer(key, ...symbols);
    return values.filter((v): v is Buffer => v !== null).map((v) => fromBinary(MarketUpdateSchema, v));
  } catch (err) {
    throw toConnectError(QuantCoreError.infra("redis read", err));
  }
}

/** After an outage the command connection may still be reconnecting: retry, with backoff, until aborted. */
async function readStateRetrying(
  redis: Redis,
  ns: string,
  symbols: string[],
  signal: AbortSignal,
): Promise<MarketUpdate[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await readState(redis, ns, symbols);
    } catch (err) {
      if (signal.aborted || attempt >= 20) throw err;
      await sleep(backoffDelayMs(attempt, { initialDelayMs: 50, maxDelayMs: 1_000, multiplier: 2 }), signal);
    }
  }
}

const respond = (event: StreamMarketUpdatesResponse["event"]) => create(StreamMarketUpdatesResponseSchema, { event });

/** Field numbers in StreamMarketUpdatesResponse's oneof, and of MarketUpdateBatch.updates. */
const UPDATE_FIELD_NO = 1;
const BATCH_FIELD_NO = 4;
const BATCH_UPDATES_FIELD_NO = 1;

/**
 * A response whose field `no` is bytes already encoded (length prefix included): protobuf-es
 * writes unknown fields verbatim, so shared encodings go out without re-serializing per client.
 */
function preEncoded(no: number, data: Uint8Array): StreamMarketUpdatesResponse {
  const r = create(StreamMarketUpdatesResponseSchema);
  r.$unknown = [{ no, wireType: WireType.LengthDelimited, data }];
  return r;
}

/** Length-prefixed MarketUpdate bytes, encoded once per update. */
function wireOf(s: Stamped): Uint8Array {
  if (!s.wire) {
    const w = new BinaryWriter();
    w.bytes(toBinary(MarketUpdateSchema, s.update));
    s.wire = w.finish();
  }
  return s.wire;
}

/** One live update as every stream sends it: stamped once, encoded at most once. */
interface Stamped {
  update: MarketUpdate;
  /** Length-prefixed MarketUpdate bytes, for binary streams. */
  wire: Uint8Array | undefined;
}

export function routes(deps: ServiceDeps) {
  const { opts, redis, fanout, metrics } = deps;
  const perPeer = new Map<string, number>();
  // Keyed by the fan-out's decoded object, so it lives exactly as long as some mailbox holds it.
  const stamped = new WeakMap<MarketUpdate, Stamped>();
  /** Stamps the gateway-send time once per update (when the first stream sends it) and observes its latency once. */
  const stampShared = (shared: MarketUpdate): Stamped => {
    let s = stamped.get(shared);
    if (!s) {
      const update: MarketUpdate = {
        ...shared,
        snapshot: false,
        timestamps: shared.timestamps && { ...shared.timestamps, gatewaySendUs: nowUs() },
      };
      s = { update, wire: undefined };
      stamped.set(shared, s);
      metrics.observe(update);
    }
    return s;
  };

  async function* streamMarketUpdates(
    req: { symbols: string[]; maxUpdatesPerSecond: number; allowBatches: boolean },
    ctx: HandlerContext,
  ): AsyncGenerator<StreamMarketUpdatesResponse> {
    const symbols = validateSymbols(req.symbols, opts.maxSymbolsPerRequest);
    const transport = requestTransport.getStore();
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
    const box = new Mailbox(
      symbols.length > 0 ? new Set(symbols) : undefined,
      { maxPending: opts.maxPendingPerClient, maxLagMs: opts.maxClientLagMs },
      req.maxUpdatesPerSecond,
    );
    box.onFail = () => {
      metrics.clientsEndedForLag.inc();
      transport?.kill();
    };
    fanout.clients.add(box);
    metrics.clients.inc();
    const sent = new Map<string, bigint>();
    // Binary codecs (gRPC, gRPC-Web, Connect+proto) get the shared encoding; JSON gets objects.
    const binary = !/json/i.test(ctx.requestHeader.get("content-type") ?? "");
    const snapshotOf = (u: MarketUpdate) => {
      u.snapshot = true;
      if (u.timestamps) u.timestamps.gatewaySendUs = nowUs();
      sent.set(u.symbol, u.updateId);
      metrics.messagesOut.inc();
      return respond({ case: "update", value: u });
    };
    const liveOf = (shared: MarketUpdate) => {
      const s = stampShared(shared);
      sent.set(shared.symbol, shared.updateId);
      metrics.messagesOut.inc();
      // Serializing a message per client was the fan-out's main cost.
      return binary ? preEncoded(UPDATE_FIELD_NO, wireOf(s)) : respond({ case: "update", value: s.update });
    };
    /** Several symbols in one message: the shared encodings, each framed as a `updates` entry. */
    const batchOf = (shared: MarketUpdate[]) => {
      const all = shared.map(stampShared);
      for (const u of shared) sent.set(u.symbol, u.updateId);
      metrics.messagesOut.inc();
      if (!binary) {
        return respond({
          case: "batch",
          value: create(MarketUpdateBatchSchema, { updates: all.map((s) => s.update) }),
        });
      }
      // fork/join writes the batch's length prefix; each update is its shared encoding.
      const w = new BinaryWriter().fork();
      for (const s of all) w.tag(BATCH_UPDATES_FIELD_NO, WireType.LengthDelimited).raw(wireOf(s));
      return preEncoded(BATCH_FIELD_NO, w.join().finish());
    };
    try {
      for (const u of await readState(redis, opts.redisNamespace, symbols)) yield snapshotOf(u);
      while (!ctx.signal.aborted) {
        await box.waitMs(opts.keepaliveIntervalMs, ctx.signal);
        if (ctx.signal.aborted) break;
        if (box.failure) throw toConnectError(box.failure);
        if (box.resetReason) {
          const reason = box.resetReason;
          box.resetReason = undefined;
          sent.clear();
          yield respond({ case: "reset", value: create(StreamResetSchema, { reason }) });
          for (const u of await readStateRetrying(redis, opts.redisNamespace, symbols, ctx.signal)) yield snapshotOf(u);
          continue;
        }
        const batch = box.take(Date.now());
        if (batch.length === 0 && box.pending() === 0) {
          yield respond({ case: "keepalive", value: create(KeepaliveSchema, { serverTimeUs: nowUs() }) });
          continue;
        }
        const fresh = batch.filter((u) => (sent.get(u.symbol) ?? -1n) < u.updateId);
        if (req.allowBatches && fresh.length > 1) yield batchOf(fresh);
        else for (const u of fresh) yield liveOf(u);
        // Only rate-capped symbols are pending: wait out the interval instead of spinning.
        if (batch.length === 0) await sleep(box.minIntervalMs, ctx.signal).catch(() => {});
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
        const updates = await readState(redis, opts.redisNamespace, symbols);
        for (const u of updates) u.snapshot = true;
        return { updates };
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
