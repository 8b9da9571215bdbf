import { toBinary } from "@bufbuild/protobuf";
import { MarketUpdateSchema, type MarketUpdate } from "@quantcore/proto";
import type { StateStore, Subscription, UpdateSubscriber } from "./state-store.js";

/**
 * The state store in memory, for tests of the routes without Redis: `write` stores and publishes
 * as compute does, heartbeats are set by hand, `interrupt` is a lost-and-restored subscription.
 */
export class MemoryStateStore implements StateStore {
  private readonly values = new Map<string, Uint8Array>();
  private readonly hashes = { shards: new Map<string, string>(), compute: new Map<string, string>() };
  private readonly subscribers = new Set<UpdateSubscriber>();
  /** Set: every read fails with it (an unreachable store). */
  failReads: Error | undefined;
  /** Called once a read has taken its values, before it resolves (e.g. to publish in between). */
  afterRead: (() => void) | undefined;

  /** Stores each update and publishes it; updates written in one call arrive together (one tick). */
  write(...updates: MarketUpdate[]): void {
    for (const u of updates) {
      const bytes = toBinary(MarketUpdateSchema, u);
      this.values.set(u.symbol, bytes);
      for (const s of this.subscribers) s.message(bytes);
    }
  }

  /** Publishes raw bytes without storing them (e.g. a malformed message). */
  publishRaw(bytes: Uint8Array): void {
    for (const s of this.subscribers) s.message(bytes);
  }

  setHeartbeat(kind: "shards" | "compute", field: string, json: string): void {
    this.hashes[kind].set(field, json);
  }

  /** The subscription was lost and restored: what was published meanwhile is gone. */
  interrupt(): void {
    for (const s of this.subscribers) s.restored();
  }

  private async read<T>(value: () => T): Promise<T> {
    await Promise.resolve();
    if (this.failReads) throw this.failReads;
    const v = value();
    this.afterRead?.();
    return v;
  }

  state(symbols: readonly string[]): Promise<(Uint8Array | null)[]> {
    return this.read(() => symbols.map((s) => this.values.get(s) ?? null));
  }

  allState(): Promise<Uint8Array[]> {
    return this.read(() => [...this.values.values()]);
  }

  stateSymbols(): Promise<string[]> {
    return this.read(() => [...this.values.keys()]);
  }

  heartbeats(kind: "shards" | "compute"): Promise<Record<string, string>> {
    return this.read(() => Object.fromEntries(this.hashes[kind]));
  }

  async subscribe(subscriber: UpdateSubscriber): Promise<Subscription> {
    this.subscribers.add(subscriber);
    return {
      close: async () => {
        this.subscribers.delete(subscriber);
      },
    };
  }
}
