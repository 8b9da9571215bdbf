import type { Redis } from "ioredis";
import { createLogger, parseJson, type Schema } from "@quantcore/runtime";

const log = createLogger("gateway.heartbeats");

/** Malformed entries already logged (field + value): a bad entry is read every tick, logged once. */
const logged = new Set<string>();

/**
 * Reads a hash of JSON values (`<ns>:shards`, `<ns>:compute`, `<ns>:replays`): every field parsed with its schema.
 * A malformed entry is skipped, counted (`onReject`) and logged once, never trusted.
 */
export async function readHeartbeats<T>(
  redis: Redis,
  key: string,
  schema: Schema<T>,
  onReject: (contract: string) => void,
): Promise<T[]> {
  return parseHeartbeats(await redis.hgetall(key), key, schema, onReject);
}

/** The entries of a heartbeat hash `key` (field -> JSON value) that parse with `schema`; see readHeartbeats. */
export function parseHeartbeats<T>(
  raw: Record<string, string>,
  key: string,
  schema: Schema<T>,
  onReject: (contract: string) => void,
): T[] {
  const out: T[] = [];
  for (const [field, value] of Object.entries(raw)) {
    try {
      out.push(parseJson(schema, value, `${key} field ${JSON.stringify(field)}`));
    } catch (err) {
      onReject(key.slice(key.lastIndexOf(":") + 1));
      const id = `${key}\u0000${field}\u0000${value}`;
      if (!logged.has(id)) {
        if (logged.size > 1_000) logged.clear();
        logged.add(id);
        log.warn("ignored malformed heartbeat", { err: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return out;
}
