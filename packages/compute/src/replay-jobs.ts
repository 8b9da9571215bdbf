import type { Redis } from "ioredis";
import {
  QuantCoreError,
  createLogger,
  parseJson,
  redisKeys,
  replayJobSchema,
  type ReplayJobRecord,
} from "@quantcore/runtime";

const log = createLogger("compute.replay-jobs");

/**
 * Claims a job atomically: refused (returns the id holding the slot) while another job is
 * running and was refreshed since ARGV[3], or when the id is already taken; else stored (nil).
 * KEYS: jobs hash. ARGV: id, job JSON, oldest updatedAtMs that still counts as alive.
 */
const CLAIM_LUA = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return ARGV[1] end
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
  local ok, j = pcall(cjson.decode, v)
  if ok and type(j) == 'table' and j.state == 'running' and tonumber(j.updatedAtMs)
    and tonumber(j.updatedAtMs) >= tonumber(ARGV[3]) then
    return tostring(j.id)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return false
`;

type StoreRedis = Redis & {
  qcClaimReplay(key: string, id: string, json: string, aliveSinceMs: string): Promise<string | null>;
};

/** Replay jobs in `<ns>:replays` (field = id, value = ReplayJobRecord JSON): the worker's record. */
export class ReplayJobStore {
  private readonly redis: StoreRedis;
  private readonly key: string;
  /** Entries refused by the schema (skipped, never trusted). */
  rejected = 0;

  constructor(redis: Redis, namespace: string) {
    this.redis = redis as StoreRedis;
    this.redis.defineCommand("qcClaimReplay", { numberOfKeys: 1, lua: CLAIM_LUA });
    this.key = redisKeys(namespace).replays;
  }

  async list(): Promise<ReplayJobRecord[]> {
    const raw = await this.call("read", () => this.redis.hgetall(this.key));
    const out: ReplayJobRecord[] = [];
    for (const [field, value] of Object.entries(raw)) {
      try {
        out.push(parseJson(replayJobSchema, value, `${this.key} field ${JSON.stringify(field)}`));
      } catch (err) {
        this.rejected++;
        log.warn("ignored malformed replay job", { err: err instanceof Error ? err.message : String(err) });
      }
    }
    return out.sort((a, b) => a.startedAtMs - b.startedAtMs);
  }

  /** Stores `job` unless another running job is alive (updated at or after `aliveSinceMs`) or its id exists. */
  async claim(
    job: ReplayJobRecord,
    aliveSinceMs: number,
  ): Promise<{ claimed: true } | { claimed: false; holder: string }> {
    const holder = await this.call("claim", () =>
      this.redis.qcClaimReplay(this.key, job.id, JSON.stringify(job), String(aliveSinceMs)),
    );
    return holder === null ? { claimed: true } : { claimed: false, holder };
  }

  async put(job: ReplayJobRecord): Promise<void> {
    await this.call("write", () => this.redis.hset(this.key, job.id, JSON.stringify(job)));
  }

  /** Stores `job` only if no job of that id exists. */
  async putNew(job: ReplayJobRecord): Promise<void> {
    await this.call("write", () => this.redis.hsetnx(this.key, job.id, JSON.stringify(job)));
  }

  /** Removes the job's namespace (every key of it) and then the job itself. */
  async remove(job: ReplayJobRecord): Promise<void> {
    const keys = Object.values(redisKeys(job.namespace));
    await this.call("delete", () => this.redis.del(...keys));
    await this.call("delete", () => this.redis.hdel(this.key, job.id));
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw QuantCoreError.infra(`redis ${what} ${this.key}`, err);
    }
  }
}
