import { fromBinary } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { MarketUpdateSchema, type MarketUpdate } from "@quantcore/proto";
import { QuantCoreError, createLogger, nowUs } from "@quantcore/runtime";
import { SharedUpdate, frameOf, type SharedFrame } from "./encoding.js";

const log = createLogger("gateway.fanout");

/** One key per set of symbols (any order); no set means every symbol. */
export function subscriptionKey(symbols: Iterable<string> | undefined): string {
  return symbols ? [...symbols].sort().join(",") : "*";
}

/** A stream's transport, written to by the fan-out without going through the stream's generator. */
export interface DirectSink {
  /** Response headers are out and the transport is below its high-water mark. */
  ready(): boolean;
  /** False once the transport is over its high-water mark (the frame is still queued). */
  write(frame: SharedFrame): boolean;
}

/**
 * One client's mailbox: the latest update per symbol (conflation). The shared fan-out never
 * waits for a client: while the stream's transport has room it writes the shared frame to it
 * directly; otherwise the update lands here and the stream's own generator drains it.
 */
export class Mailbox {
  private readonly latest = new Map<string, SharedUpdate>();
  private oldestPendingAtMs = 0;
  private wake: (() => void) | undefined;
  resetReason: string | undefined;
  failure: QuantCoreError | undefined;
  conflated = 0;
  readonly minIntervalMs: number;
  private readonly lastSentAtMs = new Map<string, number>();
  /** Clients with the same subscription share batch frames. */
  readonly subscriptionKey: string;
  /**
   * Set by the stream only while its generator is parked (connect has written everything it
   * yielded), so direct frames never interleave with connect's own writes.
   */
  direct: DirectSink | undefined;
  /** Per symbol, the newest update id already sent (snapshots included): nothing older goes out. */
  readonly sent = new Map<string, bigint>();
  lastWriteAtMs = 0;

  constructor(
    readonly symbols: ReadonlySet<string> | undefined,
    private readonly limits: { maxPending: number; maxLagMs: number },
    maxUpdatesPerSecond: number,
    readonly allowBatches = false,
  ) {
    this.minIntervalMs = maxUpdatesPerSecond > 0 ? 1000 / maxUpdatesPerSecond : 0;
    this.subscriptionKey = subscriptionKey(symbols);
  }

  wants(symbol: string): boolean {
    return !this.symbols || this.symbols.has(symbol);
  }

  /**
   * The fan-out's hand-off: written straight to the transport when it has room (shared frames,
   * cached per subscription in `batchFrames`), otherwise conflated here. Returns messages written.
   */
  deliver(updates: readonly SharedUpdate[], batchFrames: Map<string, SharedFrame>, nowMs: number): number {
    if (this.failure) return 0;
    const sink = this.direct;
    if (!sink?.ready()) {
      this.direct = undefined;
      for (const u of updates) this.offer(u, nowMs);
      return 0;
    }
    let fresh = updates;
    if (this.sent.size > 0) {
      fresh = updates.filter((u) => (this.sent.get(u.update.symbol) ?? -1n) < u.update.updateId);
      // The subscription delivers in order: once a newer update went out, no older one follows.
      for (const u of fresh) this.sent.delete(u.update.symbol);
      if (fresh.length === 0) return 0;
      if (fresh.length === updates.length) fresh = updates; // nothing dropped: the shared frame fits
    }
    let room = true;
    let written = 0;
    if (this.allowBatches && fresh.length > 1) {
      let frame = fresh === updates ? batchFrames.get(this.subscriptionKey) : undefined;
      if (!frame) {
        frame = frameOf(fresh);
        if (fresh === updates) batchFrames.set(this.subscriptionKey, frame);
      }
      room = sink.write(frame);
      written = 1;
    } else {
      for (const u of fresh) room = sink.write(u.singleFrame()) && room;
      written = fresh.length;
    }
    this.lastWriteAtMs = nowMs;
    // Over the high-water mark: conflate here until the stream's own (draining) write path catches up.
    if (!room) this.direct = undefined;
    return written;
  }

  offer(u: SharedUpdate, nowMs: number): void {
    if (this.failure) return;
    const symbol = u.update.symbol;
    const prev = this.latest.get(symbol);
    if (prev) {
      if (prev.update.updateId >= u.update.updateId) return;
      this.conflated++;
    }
    if (this.latest.size === 0) this.oldestPendingAtMs = nowMs;
    this.latest.set(symbol, u);
    if (!this.checkLag(nowMs)) this.notify();
  }

  /** Ends the client once it is past a hard limit; true when it was ended. */
  checkLag(nowMs: number): boolean {
    if (this.failure) return true;
    const lagMs = this.latest.size > 0 ? nowMs - this.oldestPendingAtMs : 0;
    if (this.latest.size <= this.limits.maxPending && lagMs <= this.limits.maxLagMs) return false;
    this.fail(
      new QuantCoreError(
        "resource_exhausted",
        `client fell behind: ${this.latest.size} symbols pending for ${lagMs} ms`,
        {
          retriable: true,
        },
      ),
    );
    this.onFail?.(this.failure!);
    return true;
  }

  /** Set by the stream: a stalled client never resumes its generator, so its transport is closed. */
  onFail: ((err: QuantCoreError) => void) | undefined;

  reset(reason: string): void {
    this.resetReason = reason;
    this.latest.clear();
    this.notify();
  }

  fail(err: QuantCoreError): void {
    this.failure = err;
    this.latest.clear();
    this.notify();
  }

  /** Takes what may be sent now; respects the per-symbol rate cap. */
  take(nowMs: number): SharedUpdate[] {
    const out: SharedUpdate[] = [];
    for (const [symbol, u] of this.latest) {
      if (this.minIntervalMs > 0 && nowMs - (this.lastSentAtMs.get(symbol) ?? 0) < this.minIntervalMs) continue;
      out.push(u);
      this.latest.delete(symbol);
      this.lastSentAtMs.set(symbol, nowMs);
    }
    this.oldestPendingAtMs = nowMs;
    return out;
  }

  pending(): number {
    return this.latest.size;
  }

  /** Resolves when there is something to do, or after `timeoutMs`, or on abort. */
  waitMs(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.latest.size > 0 || this.resetReason || this.failure || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener("abort", done, { once: true });
      this.wake = done;
    });
  }

  /** Wakes the stream's generator, which takes over writing until it parks again. */
  private notify(): void {
    this.direct = undefined;
    this.wake?.();
  }
}

/**
 * ONE Redis subscription for the whole process, fanned out to every client. Updates that arrive
 * together (one socket read) go out together: stamped and encoded once, then one write per client.
 */
export class FanOut {
  readonly clients = new Set<Mailbox>();
  readonly stats = { messagesIn: 0, badMessages: 0, resubscribes: 0 };
  private readonly sub: Redis;
  private lostConnection = false;
  private tick: MarketUpdate[] = [];
  /** Each update as it arrives from Redis. */
  onMessage: ((u: MarketUpdate) => void) | undefined;
  /** Each update as sent (stamped with the gateway's send time), and the messages written directly. */
  onSent: ((u: MarketUpdate) => void) | undefined;
  onDirectWrites: ((messages: number) => void) | undefined;

  constructor(
    redisUrl: string,
    private readonly channel: string,
  ) {
    this.sub = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
    this.sub.on("messageBuffer", (_ch: Buffer, msg: Buffer) => this.dispatch(msg));
    this.sub.on("error", (err: Error) => log.warn("redis subscriber error", { err: err.message }));
    this.sub.on("close", () => {
      this.lostConnection = true;
    });
    // ioredis resubscribes by itself after a reconnect; whatever was published meanwhile is
    // lost (pub/sub is at-most-once), so every client gets a reset and a fresh snapshot.
    this.sub.on("ready", () => {
      if (!this.lostConnection) return;
      this.lostConnection = false;
      this.stats.resubscribes++;
      log.warn("redis subscription restored; resetting clients", { clients: this.clients.size });
      for (const c of this.clients) c.reset("state store subscription was interrupted");
    });
  }

  async start(): Promise<void> {
    await this.sub.connect();
    await this.sub.subscribe(this.channel);
  }

  private dispatch(msg: Buffer): void {
    let u: MarketUpdate;
    try {
      u = fromBinary(MarketUpdateSchema, msg);
    } catch {
      this.stats.badMessages++;
      return;
    }
    this.stats.messagesIn++;
    this.onMessage?.(u);
    // ioredis emits every message of one socket read synchronously: flush after the last one.
    if (this.tick.push(u) === 1) queueMicrotask(() => this.flush());
  }

  private flush(): void {
    const sendUs = nowUs();
    const shared = this.tick.map((u) => {
      const update: MarketUpdate = {
        ...u,
        snapshot: false,
        timestamps: u.timestamps && { ...u.timestamps, gatewaySendUs: sendUs },
      };
      this.onSent?.(update);
      return new SharedUpdate(update);
    });
    this.tick = [];
    const nowMs = Date.now();
    const batchFrames = new Map<string, SharedFrame>();
    let written = 0;
    for (const c of this.clients) {
      const mine = c.symbols ? shared.filter((s) => c.wants(s.update.symbol)) : shared;
      if (mine.length > 0) written += c.deliver(mine, batchFrames, nowMs);
    }
    if (written > 0) this.onDirectWrites?.(written);
  }

  async close(): Promise<void> {
    this.sub.disconnect();
  }
}
