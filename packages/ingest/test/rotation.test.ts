// Connection rotation with a fake clock and fake connections, for every handover ordering: the
// new stream continuing the book, ahead of it, behind it, never catching up (deadline), either
// connection dropping mid-handover, partial books, and a stop in the middle. Every case checks
// that each book sees every update id exactly once, in order, or is rebuilt.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DepthDiff, PartialDepth } from "@quantcore/core";
import { ConnectionRotation, type RotatingConnection, type Timers } from "../src/rotation.js";

class FakeClock implements Timers {
  now = 0;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.due.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.due.delete(h as number);
  }
  pending(): number {
    return this.due.size;
  }
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const next = [...this.due].sort((a, b) => a[1].at - b[1].at).find(([, d]) => d.at <= until);
      if (!next) break;
      this.due.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = until;
  }
}

class FakeConn implements RotatingConnection {
  started = false;
  stopped = false;
  open = false;
  readonly stats = { reconnects: 0 };
  constructor(readonly name: string) {}
  start() {
    this.started = true;
  }
  async stop() {
    this.stopped = true;
    this.open = false;
  }
  isOpen() {
    return this.open;
  }
}

/** Books as BookSync keeps them: a diff applies if it continues the id, is stale if old, else a gap. */
function rig(symbols = ["AAA", "BBB"], startIds: Record<string, number> = { AAA: 100, BBB: 500 }) {
  const clock = new FakeClock();
  const conns: FakeConn[] = [];
  const books = new Map(Object.entries(startIds));
  const applied = new Map<string, number[]>(symbols.map((s) => [s, []]));
  const gaps: string[] = [];
  const resyncs: string[] = [];
  const partials: string[] = [];
  const r = new ConnectionRotation<FakeConn>({
    symbols,
    rotateAfterMs: 1_000_000,
    overlapMaxMs: 10_000,
    newConnection: () => {
      const c = new FakeConn(`c${conns.length}`);
      conns.push(c);
      return c;
    },
    onDiff: (ev) => {
      const id = books.get(ev.symbol);
      if (id === undefined) return;
      if (ev.finalUpdateId <= id) return; // stale
      if (ev.firstUpdateId > id + 1) {
        gaps.push(`${ev.symbol}@${id}`);
        books.delete(ev.symbol);
        return;
      }
      for (let u = id + 1; u <= ev.finalUpdateId; u++) applied.get(ev.symbol)!.push(u);
      books.set(ev.symbol, ev.finalUpdateId);
    },
    onPartial: (ev) => partials.push(`${ev.symbol}@${ev.lastUpdateId}`),
    bookId: (s) => books.get(s),
    resync: (s) => resyncs.push(s),
    timers: clock,
  });
  const diff = (symbol: string, U: number, u: number): DepthDiff =>
    ({
      kind: "depthUpdate",
      symbol,
      firstUpdateId: U,
      finalUpdateId: u,
      eventTimeMs: 0,
      bids: [],
      asks: [],
    }) satisfies Partial<DepthDiff> as unknown as DepthDiff;
  const send = (conn: FakeConn, symbol: string, U: number, u = U) => r.route(diff(symbol, U, u), 0, "", conn);
  r.start();
  const first = conns[0]!;
  first.open = true;
  r.onOpen(first, false);
  /** Every id from the start id + 1 to `to`, once each, in order. */
  const contiguous = (symbol: string, to: number) =>
    assert.deepEqual(
      applied.get(symbol),
      Array.from({ length: to - startIds[symbol]! }, (_, i) => startIds[symbol]! + 1 + i),
      `${symbol} ids`,
    );
  return { r, clock, conns, first, send, applied, gaps, resyncs, partials, contiguous, diff };
}

test("no rotation: only the current connection's frames reach the books; the age timer opens a second one", () => {
  const { r, clock, conns, first, send, contiguous } = rig();
  send(first, "AAA", 101);
  send(new FakeConn("stranger"), "AAA", 102);
  contiguous("AAA", 101);
  clock.advance(1_000_000);
  assert.equal(conns.length, 2, "rotation opened the incoming connection");
  assert.ok(conns[1]!.started);
  assert.equal(r.incoming, conns[1]);
  assert.equal(r.stats.rotations, 1);
});

test("the new stream continues each book at once: symbols move as they prove it, then the old one closes", () => {
  const { r, conns, first, send, contiguous, clock } = rig();
  r.rotate("test");
  const next = conns[1]!;
  // Same events from both, interleaved: old first for AAA, new first for BBB.
  send(first, "AAA", 101);
  send(next, "AAA", 101);
  send(next, "AAA", 102);
  send(first, "AAA", 102); // old one's copy: AAA already moved, ignored
  send(next, "BBB", 501);
  send(first, "BBB", 501);
  assert.equal(r.current, next, "every symbol moved: the new connection is current");
  assert.ok(first.stopped, "the old connection is closed");
  assert.equal(r.incoming, undefined);
  send(next, "AAA", 103);
  send(first, "AAA", 104); // a late frame of the old connection goes nowhere
  contiguous("AAA", 103);
  contiguous("BBB", 501);
  assert.equal(r.stats.forcedHandovers, 0);
  // The next rotation is scheduled from the handover; the deadline timer is gone.
  assert.equal(clock.pending(), 1);
});

test("the new stream is ahead: its diffs wait until the old connection catches up, then replay without a hole", () => {
  const { r, conns, first, send, contiguous, gaps } = rig(["AAA"], { AAA: 100 });
  r.rotate("test");
  const next = conns[1]!;
  send(next, "AAA", 103); // ahead of the book (100): held
  send(next, "AAA", 104);
  assert.equal(r.current, first);
  send(first, "AAA", 101);
  send(first, "AAA", 102); // now 103 continues the book: AAA moves, held 103 and 104 apply
  assert.equal(r.current, next);
  contiguous("AAA", 104);
  assert.deepEqual(gaps, []);
});

test("the new stream is behind: its already-applied diffs are ignored as stale", () => {
  const { r, conns, first, send, contiguous } = rig(["AAA"], { AAA: 100 });
  r.rotate("test");
  const next = conns[1]!;
  send(first, "AAA", 101);
  send(first, "AAA", 102);
  send(first, "AAA", 103);
  send(next, "AAA", 101); // behind: continues (U <= id + 1), moves; 101 stale
  send(next, "AAA", 102);
  send(next, "AAA", 103);
  send(next, "AAA", 104);
  contiguous("AAA", 104);
  assert.equal(r.current, next);
});

test("a symbol that never catches up moves by force at the overlap deadline; a hole shows as a gap", () => {
  const { r, conns, first, send, clock, gaps, applied } = rig();
  r.rotate("test");
  const next = conns[1]!;
  send(next, "AAA", 101);
  send(next, "BBB", 510); // BBB's new stream starts far ahead; the old one is silent
  send(first, "BBB", 501);
  assert.equal(r.current, first, "BBB still waits");
  clock.advance(10_000);
  assert.equal(r.current, next, "moved at the deadline");
  assert.equal(r.stats.forcedHandovers, 1);
  assert.deepEqual(gaps, ["BBB@501"], "the hole is a gap: its book is rebuilt");
  assert.deepEqual(applied.get("AAA"), [101]);
});

test("a runaway held queue (the old connection is stuck) moves the symbol without waiting for the deadline", () => {
  const { r, conns, send, gaps } = rig(["AAA"], { AAA: 100 });
  r.rotate("test");
  const next = conns[1]!;
  for (let u = 200; u < 1_200; u++) send(next, "AAA", u);
  assert.equal(r.current, next);
  assert.deepEqual(gaps, ["AAA@100"]);
});

test("the old connection drops mid-handover: every symbol moves at once", async () => {
  const { r, conns, first, send, contiguous } = rig();
  r.rotate("test");
  const next = conns[1]!;
  send(next, "AAA", 101);
  r.onDown(first);
  assert.equal(r.current, next);
  assert.equal(r.stats.forcedHandovers, 1, "BBB was forced");
  send(next, "BBB", 501);
  contiguous("BBB", 501);
});

test("the new connection reconnects mid-handover: it may have missed frames, so every book is rebuilt", () => {
  const { r, conns, resyncs } = rig();
  r.rotate("test");
  const next = conns[1]!;
  next.stats.reconnects = 1;
  r.onOpen(next, true);
  assert.equal(r.current, next);
  assert.deepEqual(resyncs.sort(), ["AAA", "BBB"]);
  assert.equal(r.reconnects(), 1);
});

test("the current connection reconnects (no rotation): its books are rebuilt and the age timer restarts", () => {
  const { r, first, resyncs, clock, conns } = rig();
  clock.advance(600_000);
  r.onOpen(first, true);
  assert.deepEqual(resyncs.sort(), ["AAA", "BBB"]);
  clock.advance(600_000);
  assert.equal(conns.length, 1, "the age counts from the reconnect");
  clock.advance(400_000);
  assert.equal(conns.length, 2);
});

test("partial books: both connections' books go through (deduplicated downstream); a symbol moves on the new one's first book", () => {
  const { r, conns, first, partials } = rig();
  r.rotate("test");
  const next = conns[1]!;
  const book = (symbol: string, id: number) =>
    ({
      kind: "partialDepth",
      symbol,
      lastUpdateId: id,
      bids: [],
      asks: [],
    }) satisfies Partial<PartialDepth> as unknown as PartialDepth;
  r.route(book("AAA", 10), 0, "", first);
  r.route(book("AAA", 10), 0, "", next);
  r.route(book("BBB", 20), 0, "", next);
  assert.equal(r.current, next);
  assert.deepEqual(partials, ["AAA@10", "AAA@10", "BBB@20"]);
});

test("a second rotate during a handover does nothing; stop ends both connections and every timer", async () => {
  const { r, conns, clock } = rig();
  r.rotate("one");
  r.rotate("two");
  assert.equal(conns.length, 2);
  assert.equal(r.stats.rotations, 1);
  await r.stop();
  assert.ok(conns[0]!.stopped && conns[1]!.stopped);
  assert.equal(clock.pending(), 0, "no timer left");
  r.rotate("after stop");
  assert.equal(conns.length, 2, "no rotation once stopped");
});
