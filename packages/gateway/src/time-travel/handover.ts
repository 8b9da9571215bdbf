/**
 * Per symbol, the last replayed (book epoch, update id): the live phase starts past it
 * (ClientStream's `positions` start drops live updates at or below it, in (epoch, id) order).
 */
export type HandoverPositions = ReadonlyMap<string, { bookEpoch: bigint; updateId: bigint }>;

/**
 * Splits updates, in order, into consecutive runs in which every symbol appears at most once
 * (a MarketUpdateBatch holds one update per symbol). Pure.
 */
export function distinctSymbolRuns<T extends { symbol: string }>(updates: readonly T[]): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let seen = new Set<string>();
  for (const u of updates) {
    if (seen.has(u.symbol)) {
      runs.push(run);
      run = [];
      seen = new Set();
    }
    run.push(u);
    seen.add(u.symbol);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
