import { fromBinary } from "@bufbuild/protobuf";
import { MarketUpdateSchema, type MarketUpdate, type SymbolStatus } from "@quantcore/proto";
import { createLogger, nowUs } from "@quantcore/runtime";
import { SharedStatus, SharedUpdate } from "./encoding.js";
import type { TickFrames } from "./direct-drain.js";
import type { ClientStream, StreamRegistry } from "./client-stream.js";
import type { StateStore, Subscription } from "./state-store.js";

const log = createLogger("gateway.fanout");

interface SubscriptionGroup {
  symbols: ReadonlySet<string> | undefined;
  streams: Set<ClientStream>;
}

/**
 * ONE subscription to the update channel for the whole process, fanned out to every subscribed stream. Updates
 * that arrive together (one socket read) go out together: stamped and encoded once, then handed
 * to each stream that wants them (which writes them or keeps them in its mailbox).
 */
export class FanOut implements StreamRegistry {
  readonly clients = new Set<ClientStream>();
  /** The streams by subscription: each group shares one filtered list and its frames per flush. */
  private readonly groups = new Map<string, SubscriptionGroup>();
  readonly stats = { messagesIn: 0, badMessages: 0, resubscribes: 0 };
  private subscription: Subscription | undefined;
  private tick: MarketUpdate[] = [];
  /** Each update as it arrives from the store. */
  onMessage: ((u: MarketUpdate) => void) | undefined;
  /** Each update as sent (stamped with the gateway's send time), and the messages written directly. */
  onSent: ((u: MarketUpdate) => void) | undefined;
  onDirectWrites: ((messages: number) => void) | undefined;
  /** Each flush's duration (the event loop is held that long): a tick handed to every stream. */
  onFlushed: ((ms: number) => void) | undefined;

  constructor(
    private readonly store: StateStore,
    /** A live update this long after ingest received it goes out with late = true. */
    private readonly lateAfterMs: number,
  ) {}

  add(stream: ClientStream): void {
    this.clients.add(stream);
    let g = this.groups.get(stream.subscriptionKey);
    if (!g) {
      g = { symbols: stream.symbols, streams: new Set() };
      this.groups.set(stream.subscriptionKey, g);
    }
    g.streams.add(stream);
  }

  delete(stream: ClientStream): void {
    this.clients.delete(stream);
    const g = this.groups.get(stream.subscriptionKey);
    if (g?.streams.delete(stream) && g.streams.size === 0) this.groups.delete(stream.subscriptionKey);
  }

  async start(): Promise<void> {
    this.subscription = await this.store.subscribe({
      message: (bytes) => this.dispatch(bytes),
      // Whatever was published while the subscription was down is lost (pub/sub is at-most-once),
      // so every client gets a reset and a fresh snapshot.
      restored: () => {
        this.stats.resubscribes++;
        log.warn("state store subscription restored; resetting clients", { clients: this.clients.size });
        for (const c of this.clients) c.reset("state store subscription was interrupted");
      },
    });
  }

  private dispatch(msg: Uint8Array): void {
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
    const startedMs = performance.now();
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
    let written = 0;
    for (const g of this.groups.values()) {
      const wanted = g.symbols ? shared.filter((u) => g.symbols!.has(u.update.symbol)) : shared;
      if (wanted.length === 0) continue;
      const mine = wanted.length === shared.length ? shared : wanted;
      // Every stream of the group that drops nothing writes the same frame (built once, on first use).
      const frames: TickFrames = {};
      for (const c of g.streams) written += c.deliver(mine, frames, nowMs);
    }
    if (written > 0) this.onDirectWrites?.(written);
    this.onFlushed?.(performance.now() - startedMs);
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
    await this.subscription?.close();
    this.subscription = undefined;
  }
}
