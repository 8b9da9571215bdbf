/** Top 30 USDT spot pairs by liquidity: the default universe. Override with SYMBOLS or UNIVERSE_FILE. */
export const TOP30_USDT: readonly string[] = Object.freeze([
  "BTCUSDT",
  "ETHUSDT",
  "BNBUSDT",
  "SOLUSDT",
  "XRPUSDT",
  "DOGEUSDT",
  "ADAUSDT",
  "TRXUSDT",
  "AVAXUSDT",
  "LINKUSDT",
  "DOTUSDT",
  "TONUSDT",
  "SHIBUSDT",
  "LTCUSDT",
  "BCHUSDT",
  "NEARUSDT",
  "UNIUSDT",
  "APTUSDT",
  "ICPUSDT",
  "ETCUSDT",
  "FILUSDT",
  "ATOMUSDT",
  "ARBUSDT",
  "OPUSDT",
  "SUIUSDT",
  "XLMUSDT",
  "HBARUSDT",
  "INJUSDT",
  "PEPEUSDT",
  "AAVEUSDT",
]);

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
