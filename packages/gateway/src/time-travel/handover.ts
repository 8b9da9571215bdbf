import type { MarketUpdate } from "@quantcore/proto";

/** Per symbol, the last replayed (book epoch, update id). */
export type HandoverPositions = ReadonlyMap<string, { epoch: bigint; updateId: bigint }>;

/**
 * Whether a live update may follow the replay: only what is newer, in (epoch, id) order, than the
 * last replayed update of its symbol (a newer epoch wins whatever its id). Pure.
 */
export function isAfterHandover(
  positions: HandoverPositions,
  u: Pick<MarketUpdate, "symbol" | "bookEpoch" | "updateId">,
): boolean {
  const at = positions.get(u.symbol);
  if (!at) return true;
  return u.bookEpoch !== at.epoch ? u.bookEpoch > at.epoch : u.updateId > at.updateId;
}

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

/**
 * A time-travel stream's switch to live: while `replaying` (the replay, then until the loop took
 * what live left pending meanwhile) the stream has no lag limit; afterwards live is filtered by
 * the handover positions.
 */
export class ReplayGate<R> {
  replaying = true;
  positions: HandoverPositions | undefined;

  constructor(private readonly run: () => AsyncGenerator<R, HandoverPositions>) {}

  async *replay(): AsyncGenerator<R, void> {
    this.positions = yield* this.run();
  }
}

/** Whether live may send `u`: newer than the last id sent for its symbol, and past the handover if any. */
export function isFresh(
  sent: ReadonlyMap<string, bigint>,
  gate: { positions: HandoverPositions | undefined } | undefined,
  u: Pick<MarketUpdate, "symbol" | "bookEpoch" | "updateId">,
): boolean {
  return (sent.get(u.symbol) ?? -1n) < u.updateId && (!gate?.positions || isAfterHandover(gate.positions, u));
}
