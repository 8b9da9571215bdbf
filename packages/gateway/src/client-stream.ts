import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { KeepaliveSchema, StreamResetSchema, type StreamMarketUpdatesResponse } from "@quantcore/proto";
import { QuantCoreError, nowUs, sleep } from "@quantcore/runtime";
import { writeBacklog, writeLive, writeStatuses, type DirectSink, type TickFrames } from "./direct-drain.js";
import { SharedStatus, SharedUpdate, positionOf, respond, responsesOf } from "./encoding.js";
import { toConnectError } from "./errors.js";
import { Mailbox, Parking, RateCap, subscriptionKey } from "./mailbox.js";
import type { Metrics } from "./metrics.js";
import { FROM_SNAPSHOT, type ClientStreamOptions, type LiveStart, type StreamSource } from "./stream-options.js";

export { FROM_SNAPSHOT, type ClientStreamOptions, type LiveStart, type StreamSource } from "./stream-options.js";

/** Where streams register to get updates and statuses (the fan-out's subscription registry). */
export interface StreamRegistry {
  add(stream: ClientStream): void;
  delete(stream: ClientStream): void;
}

/**
 * One client's stream: its mailbox (conflation), rate cap, keepalive, statuses and its message
 * loop. The fan-out hands it updates (`deliver`) and statuses (`deliverStatus`) and never waits
 * for it: while the stream is parked and its transport has room, the shared frames are written
 * straight to the transport; otherwise they land in the mailbox and the loop (`messages`) drains it.
 */
export class ClientStream {
  readonly symbols: ReadonlySet<string> | undefined;
  /** Streams with the same subscription share batch frames. */
  readonly subscriptionKey: string;
  private readonly box = new Mailbox();
  private readonly cap: RateCap;
  /** Per symbol, the newest position (positionOf) already sent, snapshots included: nothing older goes out. */
  private readonly sent = new Map<string, bigint>();
  /** Per symbol, the key of the last status sent (statusKey). */
  private readonly statusSent = new Map<string, string>();
  /**
   * Set only while the loop is parked (connect has written everything it yielded), so direct
   * frames never interleave with connect's own writes.
   */
  private direct: DirectSink | undefined;
  private readonly parked = new Parking();
  private resetReason: string | undefined;
  private failure: QuantCoreError | undefined;
  private lastWriteAtMs = 0;
  private attached = false;
  /** The live phase has started (`messages`): the lag limit applies. */
  private live = false;

  constructor(
    private readonly opts: ClientStreamOptions,
    private readonly source: StreamSource,
    private readonly registry: StreamRegistry,
    private readonly metrics: Pick<Metrics, "messagesOut" | "clients" | "conflated" | "clientsEndedForLag">,
  ) {
    this.symbols = opts.symbols.length > 0 ? new Set(opts.symbols) : undefined;
    this.subscriptionKey = subscriptionKey(this.symbols);
    this.cap = new RateCap(opts.maxUpdatesPerSecond);
  }

  wants(symbol: string): boolean {
    return !this.symbols || this.symbols.has(symbol);
  }

  /**
   * The fan-out's hand-off: written straight to the transport when it has room (one write, of a
   * frame shared per subscription through `frames`), otherwise conflated in the mailbox. Returns
   * messages written.
   */
  deliver(updates: readonly SharedUpdate[], frames: TickFrames, nowMs: number): number {
    if (this.failure) return 0;
    const sink = this.direct;
    if (!sink?.ready()) {
      this.direct = undefined;
      for (const u of updates) this.box.offer(u, nowMs);
      if (!this.checkLag(nowMs)) this.notify();
      return 0;
    }
    let fresh = updates;
    if (this.sent.size > 0) {
      fresh = updates.filter((u) => (this.sent.get(u.update.symbol) ?? -1n) < u.position);
      // The subscription delivers in order: once a newer update went out, no older one follows.
      for (const u of fresh) this.sent.delete(u.update.symbol);
      if (fresh.length === 0) return 0;
      if (fresh.length === updates.length) fresh = updates; // nothing dropped: the shared frame fits
    }
    const written = writeLive(sink, fresh, updates, this.opts.allowBatches, frames);
    this.lastWriteAtMs = nowMs;
    // Over the high-water mark: conflate until the loop's own (draining) write path catches up.
    if (written < 0) this.direct = undefined;
    return Math.abs(written);
  }

  /**
   * A status change: written straight to the transport when the stream is parked with nothing
   * pending (so it cannot overtake an update), otherwise queued in arrival order with the updates.
   * Returns messages written directly.
   */
  deliverStatus(s: SharedStatus, nowMs: number): number {
    if (this.failure) return 0;
    const symbol = s.status.symbol;
    if (!this.box.hasStatusPending(symbol) && this.statusSent.get(symbol) === s.key) return 0;
    const sink = this.direct;
    if (sink?.ready() && this.box.pending() === 0) {
      this.statusSent.set(symbol, s.key);
      if (!sink.write(s.singleFrame())) this.direct = undefined;
      this.lastWriteAtMs = nowMs;
      return 1;
    }
    this.box.offerStatus(s);
    this.notify();
    return 0;
  }

  /** Ends the stream once it is past a hard limit; true when it was ended. */
  checkLag(nowMs: number): boolean {
    if (this.failure) return true;
    // Attached ahead of its live phase (a replay first): the mailbox only conflates meanwhile.
    if (!this.live) return false;
    const pending = this.box.updatesPending();
    const lagMs = this.box.lagMs(nowMs);
    if (pending <= this.opts.limits.maxPending && lagMs <= this.opts.limits.maxLagMs) return false;
    this.fail(
      new QuantCoreError("resource_exhausted", `client fell behind: ${pending} symbols pending for ${lagMs} ms`, {
        retriable: true,
      }),
    );
    this.metrics.clientsEndedForLag.inc();
    this.opts.kill();
    return true;
  }

  /** Continuity lost (e.g. the subscription was interrupted): a reset, then a fresh snapshot. */
  reset(reason: string): void {
    this.resetReason = reason;
    this.box.clear();
    // Statuses are sent again after the fresh snapshot.
    this.statusSent.clear();
    this.notify();
  }

  fail(err: QuantCoreError): void {
    this.failure = err;
    this.box.clear();
    this.notify();
  }

  /**
   * Registers with the fan-out: updates are kept (latest per symbol, no lag limit until `messages`
   * starts the live phase). Attach before a replay to keep what arrives meanwhile; else `messages` does.
   */
  attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.registry.add(this);
    this.metrics.clients.inc();
  }

  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.metrics.conflated.inc(this.box.conflated);
    this.box.conflated = 0;
    this.registry.delete(this);
    this.metrics.clients.dec();
  }

  /**
   * The message loop: registers the stream (unless attached already), starts the live phase
   * (`start`), then sends what the mailbox holds, keepalives when idle, resets; ends on abort (as
   * the signal's reason) or failure, and detaches.
   */
  async *messages(signal: AbortSignal, start: LiveStart = FROM_SNAPSHOT): AsyncGenerator<StreamMarketUpdatesResponse> {
    const { box, sent, metrics } = this;
    const { symbols, keepaliveMs, allowBatches } = this.opts;
    // Registered BEFORE the snapshot is read, so nothing published in between is missed;
    // updates not newer than what the snapshot sent are dropped.
    this.attach();
    this.live = true;
    box.restartLagClock(Date.now());
    // The fan-out writes shared frames straight to binary, uncapped streams (a rate cap needs the mailbox).
    const sink = this.opts.binary && this.cap.minIntervalMs === 0 ? this.opts.sink : undefined;
    try {
      if (start.from === "positions")
        for (const [symbol, p] of start.positions) sent.set(symbol, positionOf(p.bookEpoch, p.updateId));
      // The snapshot goes out like live updates: one batch when the client allows it.
      else for (const m of this.messagesOf(await this.source.snapshot(symbols))) yield m;
      yield* this.statuses(sink);
      while (!signal.aborted) {
        // Parked with nothing pending: everything yielded so far is written, so the fan-out may write directly.
        if (sink && box.pending() === 0 && !this.resetReason) this.direct = sink;
        await this.waitMs(keepaliveMs, signal);
        this.direct = undefined;
        if (signal.aborted) break;
        if (this.failure) throw toConnectError(this.failure);
        if (this.resetReason) {
          const reason = this.resetReason;
          this.resetReason = undefined;
          sent.clear();
          yield respond({ case: "reset", value: create(StreamResetSchema, { reason }) });
          for (const m of this.messagesOf(await this.source.snapshotRetrying(symbols, signal))) yield m;
          yield* this.statuses(sink);
          continue;
        }
        if (sink?.open()) {
          // Connect is idle (it waits for our next message): write the backlog ourselves, as one
          // frame of shared encodings, once the transport has room (taken after the wait, so it
          // is as conflated as it can be).
          if (!sink.ready()) await sink.drained(signal);
          if (signal.aborted || !sink.open()) continue;
          const written = writeBacklog(sink, this.takeEvents(Date.now()), allowBatches, sent);
          if (written > 0) {
            metrics.messagesOut.inc(written);
            this.lastWriteAtMs = Date.now();
            continue;
          }
        }
        const now = Date.now();
        const events = this.takeEvents(now);
        if (events.length === 0 && box.pending() === 0) {
          // Idle this long (direct writes count): a keepalive, so browsers and proxies keep the stream.
          if (now - this.lastWriteAtMs >= keepaliveMs) {
            this.lastWriteAtMs = now;
            yield respond({ case: "keepalive", value: create(KeepaliveSchema, { serverTimeUs: nowUs() }) });
          }
          continue;
        }
        // Updates and status changes in arrival order: runs of updates (batched when allowed) between statuses.
        let run: SharedUpdate[] = [];
        for (let i = 0; i <= events.length; i++) {
          const e = events[i];
          if (e instanceof SharedUpdate) {
            run.push(e);
            continue;
          }
          const fresh = run.filter((s) => (sent.get(s.update.symbol) ?? -1n) < s.position);
          run = [];
          if (fresh.length > 0) this.lastWriteAtMs = now;
          for (const m of this.messagesOf(fresh)) yield m;
          if (e) {
            this.lastWriteAtMs = now;
            metrics.messagesOut.inc();
            yield e.response();
          }
        }
        // Only rate-capped symbols are pending: wait out the interval instead of spinning.
        if (events.length === 0) await sleep(this.cap.minIntervalMs, signal).catch(() => {});
      }
      // Ended by the deadline (or cancellation): say so, rather than finishing with OK.
      throw ConnectError.from(signal.reason);
    } finally {
      this.detach();
    }
  }

  /** One message for these updates: alone, or as a batch when the client allows it. */
  private messagesOf(shared: SharedUpdate[]): StreamMarketUpdatesResponse[] {
    for (const s of shared) this.sent.set(s.update.symbol, s.position);
    const out = responsesOf(shared, this.opts.allowBatches, this.opts.binary);
    this.metrics.messagesOut.inc(out.length);
    return out;
  }

  /** Live phase start: each requested symbol's status not yet sent; to a direct sink in ONE write (reconnect storms). */
  private *statuses(sink: DirectSink | undefined): Generator<StreamMarketUpdatesResponse> {
    const symbols = this.opts.symbols.length > 0 ? this.opts.symbols : this.source.symbols();
    const fresh = symbols.map((sym) => new SharedStatus(this.source.statusOf(sym))).filter((s) => this.mark(s));
    this.metrics.messagesOut.inc(fresh.length);
    if (fresh.length > 0 && sink?.open()) {
      writeStatuses(sink, fresh);
      this.lastWriteAtMs = Date.now();
    } else for (const s of fresh) yield s.response();
  }

  /** What may go out now, in arrival order; a status equal to the last one sent for its symbol is dropped. */
  private takeEvents(nowMs: number): (SharedUpdate | SharedStatus)[] {
    const events = this.box.takeEvents(nowMs, this.cap);
    if (events.every((e) => e instanceof SharedUpdate)) return events;
    return events.filter((e) => e instanceof SharedUpdate || this.mark(e));
  }

  /** Records `s` as its symbol's last status sent; false when it equals the one before (not sent again). */
  private mark(s: SharedStatus): boolean {
    const repeated = this.statusSent.get(s.status.symbol) === s.key;
    this.statusSent.set(s.status.symbol, s.key);
    return !repeated;
  }

  /** Resolves when there is something to do, or after `timeoutMs`, or on abort. */
  private waitMs(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.box.pending() > 0 || this.resetReason || this.failure || signal.aborted) return Promise.resolve();
    return this.parked.wait(timeoutMs, signal);
  }

  /** Wakes the loop, which takes over writing until it parks again. */
  private notify(): void {
    this.direct = undefined;
    this.parked.wake();
  }
}
