import { Redis } from "ioredis";
import { QuantCoreError } from "@quantcore/runtime";
import { redisKeys } from "./options.js";

/**
 * Per symbol: write state and publish only when (book epoch, update id) is newer than the
 * stored pair, so a replayed, rebalanced or late batch never moves state backwards, while a
 * rebuilt book (a RESET of a newer epoch) replaces the state whatever its id: upstream ids may
 * restart lower after an exchange reset or a new source. Decimal strings compared by length
 * then lexically: exact for any uint64, unlike Lua's doubles. A missing epoch reads as 0.
 * KEYS: state hash, ids hash, epochs hash. ARGV: channel, then (symbol, epoch, id, payload).
 */
const WRITE_NEWER_LUA = `
local function gt(a, b) return (#a > #b) or (#a == #b and a > b) end
local written = 0
for i = 2, #ARGV, 4 do
  local sym, epoch, id, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local cur = redis.call('HGET', KEYS[2], sym)
  local newer = not cur
  if cur then
    local curEpoch = redis.call('HGET', KEYS[3], sym) or '0'
    if epoch == curEpoch then newer = gt(id, cur) else newer = gt(epoch, curEpoch) end
  end
  if newer then
    redis.call('HSET', KEYS[1], sym, payload)
    redis.call('HSET', KEYS[2], sym, id)
    redis.call('HSET', KEYS[3], sym, epoch)
    redis.call('PUBLISH', ARGV[1], payload)
    written = written + 1
  end
end
return written
`;

export interface StateWrite {
  symbol: string;
  /** Book epoch of the record (0n = none). */
  epoch: bigint;
  updateId: bigint;
  payload: Uint8Array;
}

/** A symbol's OFI tracker as stored, with the (epoch, id) of the last update it counts. */
export interface StoredOfi {
  epoch: bigint;
  updateId: bigint;
  /** OfiState JSON. */
  state: string;
}

type WriterRedis = Redis & {
  qcWriteNewer(
    stateKey: string,
    idsKey: string,
    epochsKey: string,
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

  /** Hears how long each acknowledged write took (metrics). */
  onWriteSeconds: ((seconds: number) => void) | undefined;

  /** Stored OFI trackers, for symbols a restarted or rebalanced instance takes over. */
  async loadOfi(symbols: string[]): Promise<Map<string, StoredOfi>> {
    const out = new Map<string, StoredOfi>();
    if (symbols.length === 0) return out;
    let values: (string | null)[];
    try {
      values = await this.redis.hmget(this.keys.ofi, ...symbols);
    } catch (err) {
      throw QuantCoreError.infra("redis read", err);
    }
    symbols.forEach((s, i) => {
      const parsed = parseStoredOfi(values[i]);
      if (parsed) out.set(s, parsed);
    });
    return out;
  }

  /** Stores OFI trackers (one command); the caller commits offsets only after this resolves. */
  async saveOfi(entries: Map<string, StoredOfi>): Promise<void> {
    if (entries.size === 0) return;
    const args: string[] = [];
    for (const [sym, o] of entries) args.push(sym, formatStoredOfi(o));
    try {
      await this.redis.hset(this.keys.ofi, ...args);
    } catch (err) {
      throw QuantCoreError.infra("redis write", err);
    }
  }

  /** Writes (or with `json` undefined, removes) this instance's heartbeat. */
  async reportStatus(instanceId: string, json: string | undefined): Promise<void> {
    try {
      if (json === undefined) await this.redis.hdel(this.keys.compute, instanceId);
      else await this.redis.hset(this.keys.compute, instanceId, json);
    } catch (err) {
      throw QuantCoreError.infra("redis write", err);
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
        w.epoch.toString(),
        w.updateId.toString(),
        Buffer.from(w.payload.buffer, w.payload.byteOffset, w.payload.byteLength),
      );
    }
    try {
      const startedAt = performance.now();
      const written = await this.redis.qcWriteNewer(
        this.keys.state,
        this.keys.ids,
        this.keys.epochs,
        this.keys.updates,
        ...args,
      );
      this.onWriteSeconds?.((performance.now() - startedAt) / 1000);
      return written;
    } catch (err) {
      throw QuantCoreError.infra("redis write", err);
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/** `{"epoch":"…","id":"…","state":{…}}`: ids as decimal strings (uint64). */
export function formatStoredOfi(o: StoredOfi): string {
  return `{"epoch":"${o.epoch}","id":"${o.updateId}","state":${o.state}}`;
}

/** Parses a stored OFI entry; undefined for absent or malformed ones (those windows start empty). */
export function parseStoredOfi(raw: string | null | undefined): StoredOfi | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as { epoch?: unknown; id?: unknown; state?: unknown };
    const dec = /^\d{1,20}$/;
    if (typeof v.epoch !== "string" || !dec.test(v.epoch) || typeof v.id !== "string" || !dec.test(v.id))
      return undefined;
    const st = v.state as { times?: unknown; values?: unknown } | null;
    if (!st || !Array.isArray(st.times) || !Array.isArray(st.values)) return undefined;
    return { epoch: BigInt(v.epoch), updateId: BigInt(v.id), state: JSON.stringify(v.state) };
  } catch {
    return undefined;
  }
}
