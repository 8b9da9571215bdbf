import type { StreamMarketUpdatesResponse } from "@quantcore/proto";
import type { SharedUpdate } from "../encoding.js";
import type { Mailbox } from "../mailbox.js";
import { isAfterHandover, type HandoverPositions } from "./handover.js";

/**
 * A time-travel stream's replay phase and its live filter after the handover: per symbol, live updates not newer
 * (in (epoch, id) order) than the last replayed one are dropped. The subscription delivers in
 * order, so a symbol leaves the filter with its first update past the handover; once every
 * symbol has left, the filter costs nothing.
 */
export class HandoverFilter {
  private readonly after = new Map<string, { epoch: bigint; updateId: bigint }>();
  /** A replay is going out: the stream's live updates conflate in its mailbox, without lag limits. */
  replaying = false;

  /** Symbols still filtered. */
  get size(): number {
    return this.after.size;
  }

  /**
   * Yields the replay's messages (its handover last), then filters from the positions it returns,
   * the live updates `box` holds by then included (their lag counts from now).
   */
  async *replay(
    messages: AsyncGenerator<StreamMarketUpdatesResponse, HandoverPositions>,
    box: Mailbox,
  ): AsyncGenerator<StreamMarketUpdatesResponse> {
    this.replaying = true;
    try {
      for (const [symbol, at] of yield* messages) this.after.set(symbol, at);
    } finally {
      this.replaying = false;
    }
    box.retain((u) => isAfterHandover(this.after, u.update), Date.now());
  }

  /** The updates past the handover: `updates` itself when none is dropped. */
  pass(updates: readonly SharedUpdate[]): readonly SharedUpdate[] {
    const kept = updates.filter((u) => isAfterHandover(this.after, u.update));
    for (const u of kept) this.after.delete(u.update.symbol);
    return kept.length === updates.length ? updates : kept;
  }

  clear(): void {
    this.after.clear();
  }
}
