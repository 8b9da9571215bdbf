import { fromBinary } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { MarketUpdateSchema, type MarketUpdate, type SymbolStatus } from "@quantcore/proto";
import { createLogger, nowUs } from "@quantcore/runtime";
import { SharedStatus, SharedUpdate, type SharedFrame } from "./encoding.js";
import type { ClientStream, StreamRegistry } from "./client-stream.js";

const log = createLogger("gateway.fanout");

/**
 * ONE Redis subscription for the whole process, fanned out to every subscribed stream. Updates
 * that arrive together (one socket read) go out together: stamped and encoded once, then handed
 * to each stream that wants them (which writes them or keeps them in its mailbox).
 */
export class FanOut implements StreamRegistry {
  readonly clients = new Set<ClientStream>();
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
    /** A live update this long after ingest received it goes out with late = true. */
    private readonly lateAfterMs: number,
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

  add(stream: ClientStream): void {
    this.clients.add(stream);
  }

  delete(stream: ClientStream): void {
    this.clients.delete(stream);
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
    const lateBeforeUs = sendUs - this.lateAfterMs * 1000;
    const shared = this.tick.map((u) => {
      const receiveUs = u.timestamps?.ingestReceiveUs ?? 0;
      // Stamped before the one encoding every stream shares, so `late` costs nothing per stream.
      const update: MarketUpdate = {
        ...u,
        snapshot: false,
        late: receiveUs > 0 && receiveUs < lateBeforeUs,
        timestamps: u.timestamps && { ...u.timestamps, gatewaySendUs: sendUs },
      };
      this.onSent?.(update);
      return new SharedUpdate(update);
    });
    this.tick = [];
    const nowMs = Date.now();
    const batchFrames = new Map<string, SharedFrame>();
    // Streams with the same subscription share one filtered list (and so one batch frame).
    const perSubscription = new Map<string, readonly SharedUpdate[]>();
    let written = 0;
    for (const c of this.clients) {
      let mine = perSubscription.get(c.subscriptionKey);
      if (!mine) {
        const wanted = c.symbols ? shared.filter((s) => c.wants(s.update.symbol)) : shared;
        mine = wanted.length === shared.length ? shared : wanted;
        perSubscription.set(c.subscriptionKey, mine);
      }
      if (mine.length > 0) written += c.deliver(mine, batchFrames, nowMs);
    }
    if (written > 0) this.onDirectWrites?.(written);
  }

  /** Status changes go to every stream that wants the symbol, through the same ordered path as updates. */
  broadcastStatuses(statuses: readonly SymbolStatus[]): void {
    const shared = statuses.map((s) => new SharedStatus(s));
    const nowMs = Date.now();
    let written = 0;
    for (const c of this.clients) {
      for (const s of shared) if (c.wants(s.status.symbol)) written += c.deliverStatus(s, nowMs);
    }
    if (written > 0) this.onDirectWrites?.(written);
  }

  async close(): Promise<void> {
    this.sub.disconnect();
  }
}
