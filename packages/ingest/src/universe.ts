import { TOP30_USDT } from "@quantcore/runtime";

/** The default universe (one list, in @quantcore/runtime). Override with SYMBOLS or UNIVERSE_FILE. */
export { TOP30_USDT };
/** The slice of the universe one shard owns: ceil-sized contiguous slices, like the original design. */
export function shardSymbols(universe: readonly string[], shardId: number, shardCount: number): string[] {
  if (!Number.isInteger(shardCount) || shardCount < 1)
    throw new RangeError(`shardCount must be >= 1, got ${shardCount}`);
  if (!Number.isInteger(shardId) || shardId < 0 || shardId >= shardCount) {
    throw new RangeError(`shardId must be in [0, ${shardCount}), got ${shardId}`);
  }
  const size = Math.ceil(universe.length / shardCount);
  return universe.slice(shardId * size, (shardId + 1) * size);
}

/**
 * Explicit symbol -> partition map: the universe index modulo the partition count. Plain key
 * hashing puts the top 30 symbols on only 19 of 30 partitions; this gives each its own lane.
 * Symbols outside the universe fall back to a stable hash.
 */
export function partitionFor(symbol: string, universe: readonly string[], partitions: number): number {
  const i = universe.indexOf(symbol);
  if (i >= 0) return i % partitions;
  let h = 0;
  for (let k = 0; k < symbol.length; k++) h = (Math.imul(h, 31) + symbol.charCodeAt(k)) | 0;
  return Math.abs(h) % partitions;
}

/**
 * Parses a universe file: a JSON array of symbols (or `{ "symbols": [...] }`), uppercase
 * Binance spot names, no duplicates. Order matters: it fixes shard slices and partitions.
 */
export function parseUniverse(text: string, source = "universe file"): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RangeError(`${source}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const list = Array.isArray(v) ? v : (v as { symbols?: unknown } | null)?.symbols;
  if (!Array.isArray(list) || list.length === 0)
    throw new RangeError(`${source}: expected a non-empty array of symbols`);
  const seen = new Set<string>();
  for (const s of list) {
    if (typeof s !== "string" || !/^[A-Z0-9]{2,20}$/.test(s)) {
      throw new RangeError(`${source}: ${JSON.stringify(s)} is not an uppercase Binance symbol`);
    }
    if (seen.has(s)) throw new RangeError(`${source}: ${s} is listed twice`);
    seen.add(s);
  }
  return list as string[];
}
