// Replays hftbacktest recordings through the feed at their recorded pace: each file's REST
// snapshot line starts its book; diffs before it are applied the way the recorder's own sync
// would have; a symbol whose snapshot never comes (a continuation file without its first part)
// is a replay error, logged and reported, not a silent buffer that grows forever.
import path from "node:path";
import { createLogger } from "@quantcore/runtime";
import type { WireLevel } from "./book.js";
import { newReplayedState, type Feed, type SymbolState } from "./feed.js";
import type { BinanceSimOptions } from "./options.js";
import { mergeRecordings, type RecordedLine } from "./replay.js";
import { SyntheticBook } from "./synthetic.js";

const log = createLogger("binance-sim.replay");

interface RecordedDiff {
  U: number;
  u: number;
  b: WireLevel[];
  a: WireLevel[];
  pu?: number;
}

type ReplayOptions = Pick<
  BinanceSimOptions,
  "replayFiles" | "speed" | "seed" | "maxBufferedBytes" | "syntheticContinuation" | "replaySnapshotWindowMs"
>;

export class ReplayDriver {
  private closed = false;
  private release!: () => void;
  /** Resolved when pacing may begin (the server decides: at start or at the first subscription). */
  private readonly released = new Promise<void>((r) => (this.release = r));
  private readonly fileSymbol = new Map<number, string>();
  private readonly symbolFile = new Map<string, number>();
  /** Diffs recorded while the recorder awaited its snapshot, and when the first of them came. */
  private readonly early = new Map<string, { firstNs: number; diffs: RecordedDiff[] }>();
  private readonly syncedFiles = new Set<number>();
  private start = 0;
  private t0 = -1;
  private sinceYield = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly feed: Feed,
    private readonly o: ReplayOptions,
  ) {}

  /** Lets the paced replay begin (idempotent). */
  begin(): void {
    this.release();
  }

  stop(): void {
    this.closed = true;
    this.release();
    this.wake?.();
  }

  /** A pause that stop() cuts short, so a closed server leaves no replay timer behind. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  async run(): Promise<void> {
    if (this.o.replayFiles.length === 0) return;
    // Priming: read up to every file's snapshot (so REST can serve each book before the first
    // client arrives), holding what synced symbols recorded meanwhile; then wait to be released.
    const held: RecordedLine[] = [];
    const lines = mergeRecordings(this.o.replayFiles)[Symbol.asyncIterator]();
    const windowNs = this.o.replaySnapshotWindowMs * 1e6;
    let primed = false;
    for (;;) {
      const next = await lines.next();
      if (this.closed) return;
      if (next.done) break;
      const line = next.value;
      if (!this.prepare(line)) continue;
      held.push(line);
      if (this.syncedFiles.size >= this.o.replayFiles.length || line.localNs - held[0]!.localNs > windowNs) {
        primed = true;
        break;
      }
    }
    await this.released;
    if (this.closed) return;
    this.feed.stats.replayStarted = true;
    this.feed.events.emit("replayStarted");
    this.start = Date.now();
    for (const line of held) await this.play(line);
    if (primed) {
      for (;;) {
        const next = await lines.next();
        if (this.closed) return;
        if (next.done) break;
        if (this.prepare(next.value)) await this.play(next.value);
      }
    }
    for (const [symbol, st] of this.feed.state) {
      if (st.replaying && !st.synced && !st.failed) this.fail(symbol, "the recording ended without a depth snapshot");
    }
    if (this.o.syntheticContinuation) {
      // Recordings are minutes long: carry on synthetically from the final books so a long
      // demo never runs dry and update ids never go backwards.
      for (const [symbol, st] of this.feed.state) {
        if (st.replaying && st.synced && !st.synthetic) {
          st.synthetic = new SyntheticBook(symbol, this.o.seed + hashSymbol(symbol), st.book);
          st.book = st.synthetic.book;
        }
      }
    }
    this.feed.stats.replayDone = true;
    this.feed.events.emit("replayDone");
  }

  private stateOf(symbol: string): SymbolState {
    let st = this.feed.state.get(symbol);
    if (!st) {
      st = newReplayedState();
      this.feed.state.set(symbol, st);
    }
    return st;
  }

  /**
   * Handles what a line means before its time comes (snapshot lines, diffs awaiting a snapshot,
   * the snapshot window); true when the line is to be played at its recorded time.
   */
  private prepare(line: RecordedLine): boolean {
    const json = line.json;
    if (json.startsWith('{"lastUpdateId"')) {
      // The file's own REST snapshot: where its book (and so its replay) begins.
      const symbol = this.fileSymbol.get(line.file) ?? /"s":"([A-Z0-9]+)"/.exec(json)?.[1];
      if (!symbol) return false;
      const st = this.stateOf(symbol);
      if (st.failed) return false;
      const snap = JSON.parse(json) as { lastUpdateId: number; bids: WireLevel[]; asks: WireLevel[] };
      st.book.load(snap.lastUpdateId, snap.bids, snap.asks);
      // Diffs recorded while the recorder awaited its snapshot: the one straddling it must
      // be applied too, or the book would silently miss its levels.
      for (const d of this.early.get(symbol)?.diffs ?? []) {
        if (d.u <= st.book.lastUpdateId) continue;
        st.book.apply(d.b, d.a);
        st.book.lastUpdateId = d.u;
      }
      this.early.delete(symbol);
      st.synced = true;
      this.syncedFiles.add(line.file);
      return false;
    }
    const sm = /^\{"stream":"([a-z0-9]+)@/.exec(json);
    if (!sm) return false;
    const symbol = sm[1]!.toUpperCase();
    this.fileSymbol.set(line.file, symbol);
    if (!this.symbolFile.has(symbol)) this.symbolFile.set(symbol, line.file);
    const st = this.stateOf(symbol);
    if (st.failed) return false;
    if (st.synced) return true;
    const pending = this.early.get(symbol) ?? { firstNs: line.localNs, diffs: [] };
    this.early.set(symbol, pending);
    if (line.localNs - pending.firstNs > this.o.replaySnapshotWindowMs * 1e6) {
      this.fail(
        symbol,
        `no depth snapshot line within the first ${this.o.replaySnapshotWindowMs} ms of its recorded frames ` +
          "(a continuation file replayed without its first part?)",
      );
    } else if (/^\{"stream":"[a-z0-9]+@depth/.test(json)) {
      pending.diffs.push((JSON.parse(json) as { data: RecordedDiff }).data);
    }
    return false;
  }

  private fail(symbol: string, reason: string): void {
    const st = this.stateOf(symbol);
    const idx = this.symbolFile.get(symbol);
    const file = idx === undefined ? this.o.replayFiles.join(", ") : this.o.replayFiles[idx]!;
    st.failed = `${path.basename(file)}: ${symbol} cannot be synced: ${reason}`;
    this.early.delete(symbol);
    const err = { file, symbol, reason: `cannot be synced: ${reason}` };
    this.feed.stats.replayErrors.push(err);
    log.error("recording cannot be replayed", err);
    this.feed.events.emit("replayError", err);
  }

  private async play(line: RecordedLine): Promise<void> {
    const feed = this.feed;
    if (this.t0 < 0) this.t0 = line.localNs;
    if (Number.isFinite(this.o.speed)) {
      const due = this.start + (line.localNs - this.t0) / 1e6 / this.o.speed;
      const wait = due - Date.now();
      if (wait > 1) await this.pause(wait);
    } else if (++this.sinceYield >= 256) {
      this.sinceYield = 0;
      await this.waitDrained();
      await new Promise((r) => setImmediate(r));
    }
    if (Date.now() < feed.stalledUntil) await this.waitDrained();
    if (this.closed) return;
    const json = line.json;
    const sm = /^\{"stream":"([a-z0-9]+)@([A-Za-z0-9@]+)"/.exec(json);
    if (!sm) return;
    const symbol = sm[1]!.toUpperCase();
    const st = feed.state.get(symbol)!;
    const kind = sm[2]!;
    if (kind.startsWith("depth")) {
      const d = (JSON.parse(json) as { data: RecordedDiff }).data;
      if (d.pu !== undefined) st.futures = true;
      if (d.u <= st.book.lastUpdateId) return;
      feed.beforeApply(symbol);
      st.book.apply(d.b, d.a);
      st.book.lastUpdateId = d.u;
      feed.pushDiff(symbol, json, d.u);
    } else {
      feed.push(`${symbol.toLowerCase()}@${kind}`, json);
    }
  }

  private async waitDrained(): Promise<void> {
    while (!this.closed) {
      let max = 0;
      for (const c of this.feed.conns) max = Math.max(max, c.ws.bufferedAmount);
      if (max <= this.o.maxBufferedBytes && Date.now() >= this.feed.stalledUntil) return;
      await this.pause(2);
    }
  }
}

export function hashSymbol(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h >>> 0;
}
