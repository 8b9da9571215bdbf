import { Redis } from "ioredis";
import { createLogger } from "@quantcore/runtime";
import { redisKeys } from "./options.js";

const log = createLogger("gateway.store");

/** Receives the update channel: every message's bytes, and word that the subscription was restored after a loss. */
export interface UpdateSubscriber {
  /** One encoded MarketUpdate. Messages that arrive together (one read) are delivered synchronously. */
  message(bytes: Uint8Array): void;
  /** Messages published while the subscription was down are lost (pub/sub is at-most-once). */
  restored(): void;
}

export interface Subscription {
  close(): Promise<void>;
}

/**
 * What the gateway's routes read: the stored state (`<ns>:state`), the update channel
 * (`<ns>:updates`) and the heartbeats liveness is judged from (`<ns>:shards`, `<ns>:compute`).
 * Redis in production (`RedisStateStore`), in memory in the route tests (`MemoryStateStore`).
 */
export interface StateStore {
  /** The stored values of these symbols, in their order (null: none stored). */
  state(symbols: readonly string[]): Promise<(Uint8Array | null)[]>;
  /** Every stored value. */
  allState(): Promise<Uint8Array[]>;
  /** The symbols with a stored value. */
  stateSymbols(): Promise<string[]>;
  /** A heartbeat hash: field -> JSON value. */
  heartbeats(kind: "shards" | "compute"): Promise<Record<string, string>>;
  subscribe(subscriber: UpdateSubscriber): Promise<Subscription>;
}

/** The state store in Redis: reads on the gateway's command connection, the channel on a subscriber of its own. */
export class RedisStateStore implements StateStore {
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(
    private readonly redis: Redis,
    private readonly redisUrl: string,
    namespace: string,
  ) {
    this.keys = redisKeys(namespace);
  }

  state(symbols: readonly string[]): Promise<(Uint8Array | null)[]> {
    return this.redis.hmgetBuffer(this.keys.state, ...symbols);
  }

  async allState(): Promise<Uint8Array[]> {
    return Object.values(await this.redis.hgetallBuffer(this.keys.state));
  }

  stateSymbols(): Promise<string[]> {
    return this.redis.hkeys(this.keys.state);
  }

  heartbeats(kind: "shards" | "compute"): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys[kind]);
  }

  /** ONE subscriber connection per subscription; ioredis resubscribes by itself after a reconnect. */
  async subscribe(subscriber: UpdateSubscriber): Promise<Subscription> {
    const sub = new Redis(this.redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
    let lostConnection = false;
    sub.on("messageBuffer", (_ch: Buffer, msg: Buffer) => subscriber.message(msg));
    sub.on("error", (err: Error) => log.warn("redis subscriber error", { err: err.message }));
    sub.on("close", () => {
      lostConnection = true;
    });
    sub.on("ready", () => {
      if (!lostConnection) return;
      lostConnection = false;
      subscriber.restored();
    });
    const close = async () => {
      sub.disconnect();
    };
    try {
      await sub.connect();
      await sub.subscribe(this.keys.updates);
    } catch (err) {
      await close();
      throw err;
    }
    return { close };
  }
}
