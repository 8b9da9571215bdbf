// The simulator's market state and what it pushes: one book per symbol (replayed or synthetic),
// the derived partial-depth and bookTicker frames, and the fault injection applied on the wire.
import type { EventEmitter } from "node:events";
import type { WebSocket } from "ws";
import { SimBook, type WireLevel } from "./book.js";
import { dataText } from "./replay.js";
import type { DiffEvent, SyntheticBook } from "./synthetic.js";

/** One client connection, as far as pushing is concerned. */
export interface FeedConn {
  ws: WebSocket;
  combined: boolean;
  streams: Set<string>;
}

export interface SymbolState {
  book: SimBook;
  synthetic?: SyntheticBook;
  replaying: boolean;
  synced: boolean;
  /** The recording of this symbol cannot be synced (see ReplayError): nothing is served for it. */
  failed?: string;
  lastTop?: string;
  /** Replayed from a USD-M recording: its synthetic continuation carries T and pu too. */
  futures?: boolean;
}

/** A recording the simulator could not replay, and why. */
export interface ReplayError {
  file: string;
  symbol?: string;
  reason: string;
}

export interface SimStats {
  connections: number;
  framesSent: number;
  depthEvents: number;
  restRequests: number;
  rest429: number;
  rest418: number;
  /** Replay pacing has begun (at start, or at the first subscription with startReplayOn "firstSubscribe"). */
  replayStarted: boolean;
  replayDone: boolean;
  /** Recordings (or symbols in them) that could not be synced and are not served. */
  replayErrors: ReplayError[];
}

/** Fault injection for tests: every call affects only what is sent next. */
export interface FaultController {
  /** Skip the next `count` diffs of `symbol` on the wire; the server's own book still applies them. */
  dropNext(symbol: string, count?: number): void;
  /** Send the next diff of `symbol` twice. */
  duplicateNext(symbol: string): void;
  /** Swap the next two diffs of `symbol`. */
  reorderNext(symbol: string): void;
  /** Pause every push for `ms`. */
  stall(ms: number): void;
  disconnectAll(code?: number, reason?: string): void;
  sendServerShutdown(): void;
  /** Answer the next `count` depth requests with HTTP 503. */
  refuseSnapshots(count: number): void;
  /** Serve the next snapshot of `symbol` from before the stream the client buffered. */
  staleSnapshotNext(symbol: string): void;
  /** Push raw text to every subscriber of `symbol`'s diff-depth streams. */
  injectRaw(symbol: string, text: string): void;
}

export class Feed {
  readonly state = new Map<string, SymbolState>();
  readonly conns = new Set<FeedConn>();
  readonly stats: SimStats = {
    connections: 0,
    framesSent: 0,
    depthEvents: 0,
    restRequests: 0,
    rest429: 0,
    rest418: 0,
    replayStarted: false,
    replayDone: false,
    replayErrors: [],
  };
  stalledUntil = 0;
  /** Depth requests still to refuse with 503. */
  refuse = 0;
  /** Snapshots to serve from before what the client buffered, by symbol. */
  readonly staleBooks = new Map<string, { id: number; top: { bids: WireLevel[]; asks: WireLevel[] } }>();
  private readonly staleNext = new Set<string>();
  private readonly drops = new Map<string, number>();
  private readonly dupes = new Set<string>();
  private readonly reorders = new Set<string>();
  private readonly held = new Map<string, string[]>();

  constructor(readonly events: EventEmitter) {}

  send(c: FeedConn, combinedText: string): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    c.ws.send(c.combined ? combinedText : dataText(combinedText));
    this.stats.framesSent++;
  }

  push(stream: string, combinedText: string): void {
    for (const c of this.conns) if (c.streams.has(stream)) this.send(c, combinedText);
  }

  subscribed(stream: string): boolean {
    for (const c of this.conns) if (c.streams.has(stream)) return true;
    return false;
  }

  /** Takes a snapshot for a pending staleSnapshotNext before the book moves on. */
  beforeApply(symbol: string): void {
    if (!this.staleNext.has(symbol)) return;
    const st = this.state.get(symbol)!;
    this.staleBooks.set(symbol, { id: st.book.lastUpdateId, top: st.book.top(5000) });
    this.staleNext.delete(symbol);
  }

  /** Every diff goes through here: faults, the partial-depth and bookTicker derivations. */
  pushDiff(symbol: string, text: string, u: number): void {
    const lower = symbol.toLowerCase();
    this.stats.depthEvents++;
    this.events.emit("diff", { symbol, u });
    const d = this.drops.get(symbol) ?? 0;
    if (d > 0) {
      this.drops.set(symbol, d - 1);
    } else if (this.reorders.has(symbol) && !this.held.has(symbol)) {
      this.held.set(symbol, [text]);
    } else {
      for (const speed of ["@100ms", ""]) {
        const stream = `${lower}@depth${speed}`;
        const withStream = speed === "@100ms" ? text : text.replace(`@depth@100ms"`, `@depth"`);
        this.push(stream, withStream);
        if (this.dupes.has(symbol)) this.push(stream, withStream);
      }
      this.dupes.delete(symbol);
      const h = this.held.get(symbol);
      if (h) {
        this.held.delete(symbol);
        this.reorders.delete(symbol);
        for (const t of h) this.push(`${lower}@depth@100ms`, t);
      }
    }
    const st = this.state.get(symbol)!;
    for (const n of [5, 10, 20]) {
      for (const speed of ["@100ms", ""]) {
        const stream = `${lower}@depth${n}${speed}`;
        if (!this.subscribed(stream)) continue;
        const top = st.book.top(n);
        this.push(
          stream,
          `{"stream":"${stream}","data":${JSON.stringify({ lastUpdateId: u, bids: top.bids, asks: top.asks })}}`,
        );
      }
    }
  }

  pushSyntheticTicker(symbol: string, st: SymbolState): void {
    const stream = `${symbol.toLowerCase()}@bookTicker`;
    if (!this.subscribed(stream)) return;
    const t = st.book.top(1);
    const key = JSON.stringify(t);
    if (key === st.lastTop || !t.bids[0] || !t.asks[0]) return;
    st.lastTop = key;
    const data = {
      u: st.book.lastUpdateId,
      s: symbol,
      b: t.bids[0][0],
      B: t.bids[0][1],
      a: t.asks[0][0],
      A: t.asks[0][1],
    };
    this.push(stream, `{"stream":"${stream}","data":${JSON.stringify(data)}}`);
  }

  /** One synthetic event as a combined-stream diff frame (with T and pu for a futures symbol). */
  diffText(e: DiffEvent): string {
    const stream = `${e.symbol.toLowerCase()}@depth@100ms`;
    const now = Date.now();
    const data = this.state.get(e.symbol)?.futures
      ? { e: "depthUpdate", E: now, T: now, s: e.symbol, U: e.U, u: e.u, pu: e.U - 1, b: e.b, a: e.a }
      : { e: "depthUpdate", E: now, s: e.symbol, U: e.U, u: e.u, b: e.b, a: e.a };
    return `{"stream":"${stream}","data":${JSON.stringify(data)}}`;
  }

  /** Advances every synthetic book by one event and pushes it. */
  syntheticStep(): void {
    for (const [symbol, st] of this.state) {
      if (!st.synthetic) continue;
      const e = st.synthetic.next();
      this.pushDiff(symbol, this.diffText(e), e.u);
      this.pushSyntheticTicker(symbol, st);
    }
  }

  sendShutdown(c: FeedConn): void {
    const data = `{"e":"serverShutdown","E":${Date.now()}}`;
    c.ws.send(c.combined ? `{"stream":"!serverShutdown","data":${data}}` : data);
  }

  readonly faults: FaultController = {
    dropNext: (s, count = 1) => this.drops.set(s, (this.drops.get(s) ?? 0) + count),
    duplicateNext: (s) => this.dupes.add(s),
    reorderNext: (s) => this.reorders.add(s),
    stall: (ms) => {
      this.stalledUntil = Date.now() + ms;
    },
    disconnectAll: (code = 1001, reason = "going away") => {
      for (const c of this.conns) c.ws.close(code, reason);
    },
    sendServerShutdown: () => {
      for (const c of this.conns) this.sendShutdown(c);
    },
    refuseSnapshots: (count) => {
      this.refuse += count;
    },
    staleSnapshotNext: (s) => this.staleNext.add(s),
    injectRaw: (s, text) => {
      const lower = s.toLowerCase();
      for (const c of this.conns)
        if (c.streams.has(`${lower}@depth@100ms`) || c.streams.has(`${lower}@depth`)) c.ws.send(text);
    },
  };
}

export function newReplayedState(): SymbolState {
  return { book: new SimBook(), replaying: true, synced: false };
}
