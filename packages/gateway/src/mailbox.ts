import { QuantCoreError } from "@quantcore/runtime";
import { frameOf, type SharedFrame, type SharedStatus, type SharedUpdate } from "./encoding.js";

/** One key per set of symbols (any order); no set means every symbol. */
export function subscriptionKey(symbols: Iterable<string> | undefined): string {
  return symbols ? [...symbols].sort().join(",") : "*";
}

/** A stream's transport, written to by the fan-out without going through the stream's generator. */
export interface DirectSink {
  /** Response headers are out and the transport is below its high-water mark. */
  ready(): boolean;
  /** False once the transport is over its high-water mark (the frame is still queued). */
  write(frame: SharedFrame): boolean;
}

/**
 * One client's mailbox: the latest update per symbol (conflation). The shared fan-out never
 * waits for a client: while the stream's transport has room it writes the shared frame to it
 * directly; otherwise the update lands here and the stream's own generator drains it.
 */
export class Mailbox {
  private readonly latest = new Map<string, SharedUpdate>();
  private oldestPendingAtMs = 0;
  private wake: (() => void) | undefined;
  resetReason: string | undefined;
  failure: QuantCoreError | undefined;
  conflated = 0;
  readonly minIntervalMs: number;
  private readonly lastSentAtMs = new Map<string, number>();
  /** Clients with the same subscription share batch frames. */
  readonly subscriptionKey: string;
  /**
   * Set by the stream only while its generator is parked (connect has written everything it
   * yielded), so direct frames never interleave with connect's own writes.
   */
  direct: DirectSink | undefined;
  /** Per symbol, the newest update id already sent (snapshots included): nothing older goes out. */
  readonly sent = new Map<string, bigint>();
  lastWriteAtMs = 0;
  /**
   * Status changes not yet sent (latest per symbol), each with the order it arrived in relative to
   * the conflated updates (`latestSeq`): the stream sends both in arrival order.
   */
  private readonly pendingStatus = new Map<string, { s: SharedStatus; seq: number }>();
  private readonly latestSeq = new Map<string, number>();
  private seq = 0;
  /** Per symbol, the key of the last status sent (statusKey). */
  readonly statusSent = new Map<string, string>();

  constructor(
    readonly symbols: ReadonlySet<string> | undefined,
    private readonly limits: { maxPending: number; maxLagMs: number },
    maxUpdatesPerSecond: number,
    readonly allowBatches = false,
  ) {
    this.minIntervalMs = maxUpdatesPerSecond > 0 ? 1000 / maxUpdatesPerSecond : 0;
    this.subscriptionKey = subscriptionKey(symbols);
  }

  wants(symbol: string): boolean {
    return !this.symbols || this.symbols.has(symbol);
  }

  /**
   * The fan-out's hand-off: written straight to the transport when it has room (shared frames,
   * cached per subscription in `batchFrames`), otherwise conflated here. Returns messages written.
   */
  deliver(updates: readonly SharedUpdate[], batchFrames: Map<string, SharedFrame>, nowMs: number): number {
    if (this.failure) return 0;
    const sink = this.direct;
    if (!sink?.ready()) {
      this.direct = undefined;
      for (const u of updates) this.offer(u, nowMs);
      return 0;
    }
    let fresh = updates;
    if (this.sent.size > 0) {
      fresh = updates.filter((u) => (this.sent.get(u.update.symbol) ?? -1n) < u.update.updateId);
      // The subscription delivers in order: once a newer update went out, no older one follows.
      for (const u of fresh) this.sent.delete(u.update.symbol);
      if (fresh.length === 0) return 0;
      if (fresh.length === updates.length) fresh = updates; // nothing dropped: the shared frame fits
    }
    let room = true;
    let written = 0;
    if (this.allowBatches && fresh.length > 1) {
      let frame = fresh === updates ? batchFrames.get(this.subscriptionKey) : undefined;
      if (!frame) {
        frame = frameOf(fresh);
        if (fresh === updates) batchFrames.set(this.subscriptionKey, frame);
      }
      room = sink.write(frame);
      written = 1;
    } else {
      for (const u of fresh) room = sink.write(u.singleFrame()) && room;
      written = fresh.length;
    }
    this.lastWriteAtMs = nowMs;
    // Over the high-water mark: conflate here until the stream's own (draining) write path catches up.
    if (!room) this.direct = undefined;
    return written;
  }

  offer(u: SharedUpdate, nowMs: number): void {
    if (this.failure) return;
    const symbol = u.update.symbol;
    const prev = this.latest.get(symbol);
    if (prev) {
      if (prev.update.updateId >= u.update.updateId) return;
      this.conflated++;
    }
    if (this.latest.size === 0) this.oldestPendingAtMs = nowMs;
    this.latest.set(symbol, u);
    this.latestSeq.set(symbol, ++this.seq);
    if (!this.checkLag(nowMs)) this.notify();
  }

  /**
   * A status change: written straight to the transport when the stream is parked with nothing
   * pending (so it cannot overtake an update), otherwise queued in arrival order with the updates.
   * Returns messages written directly.
   */
  deliverStatus(s: SharedStatus, nowMs: number): number {
    if (this.failure) return 0;
    const symbol = s.status.symbol;
    const sink = this.direct;
    if (!this.pendingStatus.has(symbol) && this.statusSent.get(symbol) === s.key) return 0;
    if (sink?.ready() && this.latest.size === 0 && this.pendingStatus.size === 0) {
      this.statusSent.set(symbol, s.key);
      if (!sink.write(s.singleFrame())) this.direct = undefined;
      this.lastWriteAtMs = nowMs;
      return 1;
    }
    this.pendingStatus.set(symbol, { s, seq: ++this.seq });
    this.notify();
    return 0;
  }

  /**
   * Takes what may be sent now, updates and status changes in the order they arrived; a status
   * equal to the last one sent for its symbol is dropped.
   */
  takeEvents(nowMs: number): (SharedUpdate | SharedStatus)[] {
    const seqs = this.pendingStatus.size > 0 ? new Map(this.latestSeq) : undefined;
    const updates = this.take(nowMs);
    if (!seqs) return updates;
    const events: { e: SharedUpdate | SharedStatus; seq: number }[] = updates.map((u) => ({
      e: u,
      seq: seqs.get(u.update.symbol) ?? 0,
    }));
    for (const [symbol, p] of this.pendingStatus) {
      if (this.statusSent.get(symbol) !== p.s.key) events.push({ e: p.s, seq: p.seq });
      this.statusSent.set(symbol, p.s.key);
    }
    this.pendingStatus.clear();
    return events.sort((a, b) => a.seq - b.seq).map((x) => x.e);
  }

  /** Ends the client once it is past a hard limit; true when it was ended. */
  checkLag(nowMs: number): boolean {
    if (this.failure) return true;
    const lagMs = this.latest.size > 0 ? nowMs - this.oldestPendingAtMs : 0;
    if (this.latest.size <= this.limits.maxPending && lagMs <= this.limits.maxLagMs) return false;
    this.fail(
      new QuantCoreError(
        "resource_exhausted",
        `client fell behind: ${this.latest.size} symbols pending for ${lagMs} ms`,
        {
          retriable: true,
        },
      ),
    );
    this.onFail?.(this.failure!);
    return true;
  }

  /** Set by the stream: a stalled client never resumes its generator, so its transport is closed. */
  onFail: ((err: QuantCoreError) => void) | undefined;

  reset(reason: string): void {
    this.resetReason = reason;
    this.latest.clear();
    this.latestSeq.clear();
    // Statuses are sent again after the fresh snapshot.
    this.pendingStatus.clear();
    this.statusSent.clear();
    this.notify();
  }

  fail(err: QuantCoreError): void {
    this.failure = err;
    this.latest.clear();
    this.pendingStatus.clear();
    this.notify();
  }

  /** Takes what may be sent now; respects the per-symbol rate cap. */
  take(nowMs: number): SharedUpdate[] {
    const out: SharedUpdate[] = [];
    for (const [symbol, u] of this.latest) {
      if (this.minIntervalMs > 0 && nowMs - (this.lastSentAtMs.get(symbol) ?? 0) < this.minIntervalMs) continue;
      out.push(u);
      this.latest.delete(symbol);
      this.latestSeq.delete(symbol);
      this.lastSentAtMs.set(symbol, nowMs);
    }
    this.oldestPendingAtMs = nowMs;
    return out;
  }

  pending(): number {
    return this.latest.size + this.pendingStatus.size;
  }

  /** Resolves when there is something to do, or after `timeoutMs`, or on abort. */
  waitMs(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.pending() > 0 || this.resetReason || this.failure || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener("abort", done, { once: true });
      this.wake = done;
    });
  }

  /** Wakes the stream's generator, which takes over writing until it parks again. */
  private notify(): void {
    this.direct = undefined;
    this.wake?.();
  }
}
