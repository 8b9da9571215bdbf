import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import {
  KeepaliveSchema,
  ReplayHandoverSchema,
  StreamMarketUpdatesResponseSchema,
  SymbolPositionSchema,
  type StreamMarketUpdatesResponse,
} from "@quantcore/proto";
import { QuantCoreError, createLogger, nowUs, timeTravelKeys, type TimeTravelRequest } from "@quantcore/runtime";
import type { DirectSink } from "../direct-drain.js";
import { SharedFrame } from "../encoding.js";
import { parseSessionEntry } from "./entries.js";
import type { HandoverPositions } from "./handover.js";
import {
  replayFrames,
  replayMessages,
  replayResponses,
  splitUpdates,
  stampReplayed,
  type ReplayedBytes,
} from "./relay.js";
import type { TimeTravelParams } from "./request.js";

const log = createLogger("gateway.time-travel");

export interface TimeTravelGatewayOptions {
  /** Time-travel streams this gateway serves at once; past it RESOURCE_EXHAUSTED. */
  maxSessions: number;
  /** No replay worker took the request within this: RESOURCE_EXHAUSTED. */
  acceptTimeoutMs: number;
  /** TTL of the session's alive key, refreshed after every read: the worker ends a session not read for this long. */
  aliveTtlMs: number;
  /** Nothing from the worker (not even a tick) for this long: UNAVAILABLE. */
  workerSilenceMs: number;
  /**
   * Entries per XREAD (a worker's `updates` entry holds up to 64): relayed in one go on the
   * fan-out's event loop (each update stamped and framed, not decoded, for binary clients: ~1 µs),
   * so a read holds live deliveries back well under a ms.
   */
  readCount: number;
  /** XREAD BLOCK, at most. */
  readBlockMs: number;
}

export const DEFAULT_TIME_TRAVEL_GATEWAY_OPTIONS: Readonly<TimeTravelGatewayOptions> = Object.freeze({
  maxSessions: 16,
  acceptTimeoutMs: 10_000,
  aliveTtlMs: 30_000,
  workerSilenceMs: 60_000,
  readCount: 2,
  readBlockMs: 1_000,
});

export interface ReplayStreamParams extends TimeTravelParams {
  symbols: string[];
  allowBatches: boolean;
  /** The client reads protobuf (gRPC, binary Connect): updates go out as the worker's bytes, never decoded. */
  binary: boolean;
  /**
   * The binary stream's transport: each read's updates are written to it as ONE buffer of frames
   * (connect is idle while the replay runs: it waits for the next message) once its headers are out.
   */
  sink?: DirectSink;
  keepaliveMs: number;
  signal: AbortSignal;
}

export interface TimeTravelCounters {
  started: number;
  rejected: number;
  active: number;
}

/** Where a time-travel stream's replay comes from: the replay workers (TimeTravelSessions), or a test's fake. */
export interface ReplaySource {
  /**
   * Yields the replayed updates (as `update`, or `batch` when allowed) and the `handover`;
   * returns the last replayed position per symbol, for the live part's filter.
   */
  replay(p: ReplayStreamParams): AsyncGenerator<StreamMarketUpdatesResponse, HandoverPositions>;
}

const respond = (event: StreamMarketUpdatesResponse["event"]) => create(StreamMarketUpdatesResponseSchema, { event });

/** The next stream id after `id` (XTRIM MINID keeps ids >= its threshold). */
export function nextStreamId(id: string): string {
  const [ms, seq] = id.split("-");
  return `${ms}-${BigInt(seq ?? "0") + 1n}`;
}

/**
 * The gateway's end of time travel: submits a session request to the replay workers
 * (`<ns>:tt-requests`) and relays the session stream (`<ns>:tt:<session>`) to the client,
 * trimming what it read and refreshing the session's alive key; never consumes Kafka.
 */
export class TimeTravelSessions implements ReplaySource {
  readonly counters: TimeTravelCounters = { started: 0, rejected: 0, active: 0 };
  /** Rejections by code (metrics). */
  onRejected: ((code: string) => void) | undefined;

  constructor(
    private readonly redisUrl: string,
    private readonly namespace: string,
    private readonly o: TimeTravelGatewayOptions,
  ) {}

  /**
   * Yields the replayed updates (as `update`, or `batch` when allowed) and the `handover`;
   * returns the last replayed position per symbol, for the live part's filter.
   */
  async *replay(p: ReplayStreamParams): AsyncGenerator<StreamMarketUpdatesResponse, HandoverPositions> {
    if (this.counters.active >= this.o.maxSessions) {
      this.counters.rejected++;
      this.onRejected?.("resource_exhausted");
      throw new QuantCoreError(
        "resource_exhausted",
        `time travel: this gateway already serves ${this.o.maxSessions} replaying streams (GATEWAY_TIME_TRAVEL_MAX_SESSIONS); retry later`,
        { retriable: true },
      );
    }
    this.counters.active++;
    this.counters.started++;
    const session = randomUUID().replaceAll("-", "");
    const keys = timeTravelKeys(this.namespace);
    const key = keys.stream(session);
    const conn = new Redis(this.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    conn.on("error", () => {}); // reported through failed calls
    const request: TimeTravelRequest = {
      session,
      symbols: p.symbols,
      startTimeUs: p.startTimeUs,
      replaySpeed: p.replaySpeed,
      requestedAtMs: Date.now(),
    };
    const requestJson = JSON.stringify(request);
    let accepted = false;
    try {
      try {
        await conn.connect();
        await conn
          .multi()
          .set(keys.alive(session), "1", "PX", this.o.aliveTtlMs)
          .rpush(keys.requests, requestJson)
          .exec();
      } catch (err) {
        throw QuantCoreError.infra("time travel: redis", err);
      }
      let acceptBy = Date.now() + this.o.acceptTimeoutMs;
      let lastEntryAtMs = Date.now();
      let lastSentAtMs = Date.now();
      let lastId = "0";
      for (;;) {
        if (p.signal.aborted) throw p.signal.reason;
        const now = Date.now();
        if (!accepted && now >= acceptBy) {
          // Withdrawn: a worker that pops it later must not start a session nobody reads.
          const removed = await conn.lrem(keys.requests, 1, requestJson).catch(() => 0);
          if (removed > 0) {
            throw new QuantCoreError(
              "resource_exhausted",
              `time travel: no replay worker took the request within ${this.o.acceptTimeoutMs} ms ` +
                "(every worker's sessions are busy, or no worker runs: COMPUTE_MODE=replay); retry later",
              { retriable: true },
            );
          }
          acceptBy = now + this.o.acceptTimeoutMs; // just taken: its `accepted` is on the way
        }
        if (accepted && now - lastEntryAtMs > this.o.workerSilenceMs)
          throw new QuantCoreError(
            "unavailable",
            `time travel: the replay worker went silent for ${this.o.workerSilenceMs} ms`,
          );
        const blockMs = Math.max(1, Math.min(this.o.readBlockMs, p.keepaliveMs, accepted ? Infinity : acceptBy - now));
        let res: [Buffer, [Buffer, Buffer[]][]][] | null;
        try {
          res = (await conn.xreadBuffer("COUNT", this.o.readCount, "BLOCK", blockMs, "STREAMS", key, lastId)) as
            [Buffer, [Buffer, Buffer[]][]][] | null;
          // What was read is trimmed (bounded memory; the worker waits on the length); the session is alive.
          const m = conn.multi().set(keys.alive(session), "1", "PX", this.o.aliveTtlMs);
          const entries = res?.[0]?.[1];
          if (entries && entries.length > 0) m.xtrim(key, "MINID", nextStreamId(entries.at(-1)![0].toString()));
          await m.exec();
        } catch (err) {
          throw QuantCoreError.infra("time travel: redis", err);
        }
        const updates: Buffer[] = [];
        let end: HandoverPositions | undefined;
        let endMessage: StreamMarketUpdatesResponse | undefined;
        for (const [id, fields] of res?.[0]?.[1] ?? []) {
          lastId = id.toString();
          lastEntryAtMs = Date.now();
          const e = parseSessionEntry(fields, key);
          if (e.type === "accepted") accepted = true;
          else if (e.type === "update" || e.type === "updates") {
            accepted = true;
            if (e.type === "update") updates.push(e.bytes);
            else for (const b of splitUpdates(e.bytes, key)) updates.push(b);
          } else if (e.type === "rejected") {
            accepted = true;
            this.counters.rejected++;
            this.onRejected?.(e.rejected.code);
            throw new QuantCoreError(e.rejected.code, `time travel: ${e.rejected.message}`, { retriable: false });
          } else if (e.type === "end") {
            const positions = new Map(
              e.end.positions.map((x) => [x.symbol, { bookEpoch: BigInt(x.epoch), updateId: BigInt(x.updateId) }]),
            );
            end = positions;
            endMessage = respond({
              case: "handover",
              value: create(ReplayHandoverSchema, {
                positions: e.end.positions.map((x) =>
                  create(SymbolPositionSchema, {
                    symbol: x.symbol,
                    bookEpoch: BigInt(x.epoch),
                    updateId: BigInt(x.updateId),
                  }),
                ),
                replayedUpdates: BigInt(e.end.replayedUpdates),
                replayedUntilUs: e.end.replayedUntilUs,
                serverTimeUs: nowUs(),
              }),
            });
            break;
          }
        }
        if (updates.length > 0) {
          const sendUs = nowUs();
          const messages = replayMessages(
            updates.map((b) => stampReplayed(b, sendUs, key)),
            p.allowBatches,
          );
          if (!(await this.writeDirect(p, messages))) for (const r of replayResponses(messages, p.binary)) yield r;
          lastSentAtMs = Date.now();
        }
        if (end && endMessage) {
          yield endMessage;
          return end;
        }
        if (Date.now() - lastSentAtMs >= p.keepaliveMs) {
          lastSentAtMs = Date.now();
          yield respond({ case: "keepalive", value: create(KeepaliveSchema, { serverTimeUs: nowUs() }) });
        }
      }
    } finally {
      this.counters.active--;
      // The worker sees the alive key gone and ends the session if it still runs.
      const cleanup = conn.multi().del(key, keys.alive(session));
      if (!accepted) cleanup.lrem(keys.requests, 1, requestJson);
      await cleanup
        .exec()
        .catch((err: unknown) => log.warn("time-travel session keys not removed", { key, err: String(err) }));
      conn.disconnect();
    }
  }

  /**
   * Writes the messages straight to a binary stream's transport, as one buffer, once connect has
   * sent the response headers (waiting for room first). False when it cannot (connect writes them).
   */
  private async writeDirect(p: ReplayStreamParams, messages: readonly ReplayedBytes[][]): Promise<boolean> {
    const sink = p.binary ? p.sink : undefined;
    if (!sink?.open()) return false;
    if (!sink.ready()) await sink.drained(p.signal);
    if (p.signal.aborted) throw p.signal.reason;
    if (!sink.open()) return false;
    sink.write(new SharedFrame(replayFrames(messages)));
    return true;
  }
}
