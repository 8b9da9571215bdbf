import type { DepthDiff, PartialDepth } from "@quantcore/core";
import { createLogger } from "@quantcore/runtime";

const log = createLogger("ingest.rotation");

/** What rotation needs of a connection (StreamConnection; a fake one in tests). */
export interface RotatingConnection {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
  isOpen(): boolean;
  readonly stats: { reconnects: number };
}

/** setTimeout / clearTimeout: the real ones, or a fake clock in tests. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_TIMERS: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RotationOptions<C extends RotatingConnection> {
  symbols: readonly string[];
  /** Age at which a connection is replaced by an overlapping one (Binance closes at 24 h). */
  rotateAfterMs: number;
  /** Longest overlap: past it every symbol still on the old connection moves (forced). */
  overlapMaxMs: number;
  /** A new connection (not started); its events come back through onOpen/onDown and route(). */
  newConnection(): C;
  /** The book pipeline: a diff or a whole partial book, from whichever connection owns the symbol. */
  onDiff(ev: DepthDiff, receiveUs: number, raw: string): void;
  onPartial(ev: PartialDepth, receiveUs: number, raw: string): void;
  /** The id of the symbol's book when in sync, else undefined. */
  bookId(symbol: string): number | undefined;
  /** Frames were missed: rebuild the symbol's book. */
  resync(symbol: string): void;
  timers?: Timers;
}

interface Held {
  ev: DepthDiff;
  receiveUs: number;
  raw: string;
}

interface Handover<C> {
  next: C;
  /** Diffs the new connection sent for symbols still read from the old one. */
  pending: Map<string, Held[]>;
  /** Symbols now read from the new connection. */
  switched: Set<string>;
  deadline: unknown;
}

/** A held queue this long means the old connection is stuck: switch and let the gap rule decide. */
const MAX_HELD = 1_000;

/**
 * Connection rotation: a new connection opens beside the old one; each symbol moves to it once
 * the new stream continues the book without a hole (its first held diff has U <= book id + 1),
 * then the old connection closes. No update id is missed and no book is rebuilt. Symbols that do
 * not move by `overlapMaxMs` (or when either connection drops) are moved by force.
 */
export class ConnectionRotation<C extends RotatingConnection> {
  private cur: C;
  private handover: Handover<C> | undefined;
  private rotateTimer: unknown;
  private stopped = true;
  private readonly timers: Timers;
  private readonly symbolSet: Set<string>;
  readonly stats = { rotations: 0, forcedHandovers: 0, reconnectsBefore: 0 };

  constructor(private readonly o: RotationOptions<C>) {
    this.timers = o.timers ?? REAL_TIMERS;
    this.symbolSet = new Set(o.symbols);
    this.cur = o.newConnection();
  }

  get current(): C {
    return this.cur;
  }

  /** The incoming connection while a rotation is under way. */
  get incoming(): C | undefined {
    return this.handover?.next;
  }

  /** Reconnects of every connection this shard had. */
  reconnects(): number {
    return this.stats.reconnectsBefore + this.cur.stats.reconnects;
  }

  start(): void {
    this.stopped = false;
    this.cur.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.clearTimeout(this.rotateTimer);
    const h = this.handover;
    if (h) this.timers.clearTimeout(h.deadline);
    await Promise.all([this.cur.stop(), h?.next.stop()]);
  }

  /** Opens the overlapping replacement connection (age limit ahead, or serverShutdown). */
  rotate(reason: string): void {
    if (this.handover || this.stopped) return;
    this.stats.rotations++;
    log.info("rotating connection", { reason, from: this.cur.name });
    const next = this.o.newConnection();
    this.handover = {
      next,
      pending: new Map(),
      switched: new Set(),
      deadline: this.timers.setTimeout(() => this.finish(true), this.o.overlapMaxMs),
    };
    next.start();
  }

  /** Routes one parsed book frame from `conn` to the book pipeline, or holds it during a handover. */
  route(f: DepthDiff | PartialDepth, receiveUs: number, raw: string, conn: C): void {
    const h = this.handover;
    if (!h) {
      if (conn !== this.cur) return;
      return f.kind === "depthUpdate" ? this.o.onDiff(f, receiveUs, raw) : this.o.onPartial(f, receiveUs, raw);
    }
    if (f.kind === "partialDepth") {
      // Whole books: duplicates from the two connections are filtered by lastUpdateId.
      this.o.onPartial(f, receiveUs, raw);
      if (conn === h.next) h.switched.add(f.symbol);
      return this.finish();
    }
    if (conn === h.next) {
      if (h.switched.has(f.symbol)) return this.o.onDiff(f, receiveUs, raw);
      const q = h.pending.get(f.symbol) ?? [];
      h.pending.set(f.symbol, q);
      q.push({ ev: f, receiveUs, raw });
    } else if (conn === this.cur && !h.switched.has(f.symbol)) {
      this.o.onDiff(f, receiveUs, raw);
    }
    this.tryHandOver(f.symbol, false);
    this.finish();
  }

  /** A connection (re)opened. */
  onOpen(conn: C, reconnect: boolean): void {
    const h = this.handover;
    if (conn === this.cur && h === undefined) {
      this.scheduleRotation();
      // Frames were missed while down: every book of this connection is rebuilt.
      if (reconnect) for (const s of this.o.symbols) this.o.resync(s);
    } else if (h && conn === h.next && reconnect) {
      // The incoming connection dropped mid-handover: it may have missed frames too.
      this.finish(true);
      for (const s of this.o.symbols) this.o.resync(s);
    }
  }

  /** A connection went down (it reconnects by itself unless stopped). */
  onDown(conn: C): void {
    // The old connection closed before every symbol moved (e.g. the 24 h mark came early):
    // move them all now; any hole shows up as a gap on the next event.
    if (this.handover && conn === this.cur && !this.stopped) this.finish(true);
  }

  private tryHandOver(symbol: string, force: boolean): void {
    const h = this.handover;
    if (!h || h.switched.has(symbol)) return;
    const q = h.pending.get(symbol) ?? [];
    if (!force) {
      if (q.length === 0) return;
      // The new stream may take over once its first held diff does not skip past the book
      // (U <= id + 1): from there it carries every later id itself. If it is ahead, wait for the
      // old connection to catch up; a runaway queue means the old one is stuck.
      const id = this.o.bookId(symbol);
      const ahead = id !== undefined && q[0]!.ev.firstUpdateId > id + 1;
      if (ahead && q.length < MAX_HELD) return;
    } else {
      this.stats.forcedHandovers++;
    }
    h.switched.add(symbol);
    h.pending.delete(symbol);
    // Already-applied diffs among them are ignored as stale by the book.
    for (const p of q) this.o.onDiff(p.ev, p.receiveUs, p.raw);
  }

  private finish(force = false): void {
    const h = this.handover;
    if (!h) return;
    if (!force && h.switched.size < this.symbolSet.size) return;
    for (const s of this.o.symbols) this.tryHandOver(s, true);
    this.timers.clearTimeout(h.deadline);
    const old = this.cur;
    this.stats.reconnectsBefore += old.stats.reconnects;
    this.cur = h.next;
    this.handover = undefined;
    log.info("rotation complete", { from: old.name, to: this.cur.name });
    void old.stop();
    this.scheduleRotation();
  }

  private scheduleRotation(): void {
    this.timers.clearTimeout(this.rotateTimer);
    if (this.stopped) return;
    this.rotateTimer = this.timers.setTimeout(() => this.rotate("connection age"), this.o.rotateAfterMs);
  }
}
