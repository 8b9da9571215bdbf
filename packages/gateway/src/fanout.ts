import { fromBinary } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { MarketUpdateSchema, type MarketUpdate } from "@quantcore/proto";
import { QuantCoreError, createLogger } from "@quantcore/runtime";

const log = createLogger("gateway.fanout");

export type ClientEvent =
  { kind: "update"; update: MarketUpdate } | { kind: "reset"; reason: string } | { kind: "end"; error: QuantCoreError };

/**
 * One client's mailbox: the latest update per symbol (conflation). The shared fan-out only
 * writes here and never waits for a client; the client's own stream drains it.
 */
export class Mailbox {
  private readonly latest = new Map<string, MarketUpdate>();
  private oldestPendingAtMs = 0;
  private wake: (() => void) | undefined;
  resetReason: string | undefined;
  failure: QuantCoreError | undefined;
  conflated = 0;
  readonly minIntervalMs: number;
  private readonly lastSentAtMs = new Map<string, number>();

  constructor(
    readonly symbols: ReadonlySet<string> | undefined,
    private readonly limits: { maxPending: number; maxLagMs: number },
    maxUpdatesPerSecond: number,
  ) {
    this.minIntervalMs = maxUpdatesPerSecond > 0 ? 1000 / maxUpdatesPerSecond : 0;
  }

  wants(symbol: string): boolean {
    return !this.symbols || this.symbols.has(symbol);
  }

  offer(u: MarketUpdate, nowMs: number): void {
    if (this.failure) return;
    const prev = this.latest.get(u.symbol);
    if (prev) {
      if (prev.updateId >= u.updateId) return;
      this.conflated++;
    }
    if (this.latest.size === 0) this.oldestPendingAtMs = nowMs;
    this.latest.set(u.symbol, u);
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
  take(nowMs: number): MarketUpdate[] {
    const out: MarketUpdate[] = [];
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

  private notify(): void {
    this.wake?.();
  }
}

/** ONE Redis subscription for the whole process, fanned out to every client's mailbox. */
export class FanOut {
  readonly clients = new Set<Mailbox>();
  readonly stats = { messagesIn: 0, badMessages: 0, resubscribes: 0 };
  private readonly sub: Redis;
  private lostConnection = false;
  onMessage: ((u: MarketUpdate) => void) | undefined;

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
    const now = Date.now();
    for (const c of this.clients) if (c.wants(u.symbol)) c.offer(u, now);
  }

  async close(): Promise<void> {
    this.sub.disconnect();
  }
}
