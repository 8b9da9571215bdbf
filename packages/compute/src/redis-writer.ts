import { Redis } from "ioredis";
import { QuantCoreError } from "@quantcore/runtime";
import { redisKeys } from "./options.js";

/**
 * Per symbol: write state (and the OFI tracker it came from) and publish only when the update
 * id is newer than the stored one, so a replayed, rebalanced or late batch can never move state
 * backwards. Ids are decimal strings compared by length then lexically: exact for any uint64,
 * unlike Lua's doubles.
 * KEYS: state hash, ids hash, ofi hash. ARGV: channel, then (symbol, id, payload, ofi) quads.
 */
const WRITE_NEWER_LUA = `
local written = 0
for i = 2, #ARGV, 4 do
  local sym, id, payload, ofi = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local cur = redis.call('HGET', KEYS[2], sym)
  if (not cur) or (#id > #cur) or (#id == #cur and id > cur) then
    redis.call('HSET', KEYS[1], sym, payload)
    redis.call('HSET', KEYS[2], sym, id)
    if ofi ~= '' then redis.call('HSET', KEYS[3], sym, ofi) end
    redis.call('PUBLISH', ARGV[1], payload)
    written = written + 1
  end
end
return written
`;

export interface StateWrite {
  symbol: string;
  updateId: bigint;
  payload: Uint8Array;
  /** Serialized OFI tracker after this update ("" = none). */
  ofi?: string;
}

type WriterRedis = Redis & {
  qcWriteNewer(
    stateKey: string,
    idsKey: string,
    ofiKey: string,
    channel: string,
    ...args: (string | Buffer)[]
  ): Promise<number>;
};

export class RedisStateWriter {
  private readonly redis: WriterRedis;
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(url: string, namespace: string) {
    // No offline queue: while Redis is down a write fails at once and the caller retries
    // with backoff without committing offsets, instead of piling commands up in memory.
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    }) as WriterRedis;
    this.redis.on("error", () => {}); // reported through failed writes
    this.redis.defineCommand("qcWriteNewer", { numberOfKeys: 3, lua: WRITE_NEWER_LUA });
    this.keys = redisKeys(namespace);
    let connectedOnce = false;
    this.redis.on("ready", () => {
      if (connectedOnce) this.onReconnect?.();
      connectedOnce = true;
    });
  }

  /** Called after Redis came back (possibly restarted empty): the caller rewrites what it holds. */
  onReconnect: (() => void) | undefined;

  /** Stored OFI trackers and ids, for symbols a restarted or rebalanced instance takes over. */
  async loadOfi(symbols: string[]): Promise<Map<string, { updateId: bigint; ofi: string }>> {
    const out = new Map<string, { updateId: bigint; ofi: string }>();
    if (symbols.length === 0) return out;
    try {
      const [ids, ofis] = await Promise.all([
        this.redis.hmget(this.keys.ids, ...symbols),
        this.redis.hmget(this.keys.ofi, ...symbols),
      ]);
      symbols.forEach((s, i) => {
        const id = ids[i];
        const ofi = ofis[i];
        if (id && ofi) out.set(s, { updateId: BigInt(id), ofi });
      });
      return out;
    } catch (err) {
      throw QuantCoreError.infra("redis read", err);
    }
  }

  async connect(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (err) {
      throw QuantCoreError.infra("redis connect", err);
    }
  }

  /** One round trip for the whole batch; resolves with the number of symbols written. */
  async write(writes: StateWrite[]): Promise<number> {
    if (writes.length === 0) return 0;
    const args: (string | Buffer)[] = [];
    for (const w of writes) {
      args.push(
        w.symbol,
        w.updateId.toString(),
        Buffer.from(w.payload.buffer, w.payload.byteOffset, w.payload.byteLength),
        w.ofi ?? "",
      );
    }
    try {
      return await this.redis.qcWriteNewer(this.keys.state, this.keys.ids, this.keys.ofi, this.keys.updates, ...args);
    } catch (err) {
      throw QuantCoreError.infra("redis write", err);
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
