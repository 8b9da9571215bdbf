import assert from "node:assert/strict";
import { createReadStream, existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { createGunzip } from "node:zlib";
import { BookSync, parseDepthSnapshot, parseStreamFrame, type DepthDiff, type SyncMode } from "../src/index.js";
import { hftLines, sharedDataDir } from "./vectors.js";

interface RebuildResult {
  applied: number;
  gaps: number;
  crossed: number;
  tickerChecks: number;
  tickerMismatches: string[];
}

/** Feeds recorded lines through BookSync the way ingest does; the recorded snapshot line is "the" REST answer. */
async function rebuild(lines: AsyncIterable<string> | Iterable<string>, mode: SyncMode): Promise<RebuildResult> {
  const sync = new BookSync("X", { mode });
  const r: RebuildResult = { applied: 0, gaps: 0, crossed: 0, tickerChecks: 0, tickerMismatches: [] };
  // bookTicker is real time while depth is batched every 100 ms, so a ticker usually arrives
  // before the diff ending at its id: compare by id once both sides are known.
  const tops = new Map<number, string>();
  const tickers: [number, string][] = [];
  for await (const line of lines) {
    if (line.startsWith('{"lastUpdateId"')) {
      const snap = parseDepthSnapshot(line);
      assert.ok(snap.ok);
      const res = sync.onSnapshot(snap.value);
      assert.equal(res.type, "synced", JSON.stringify(res).slice(0, 200));
      continue;
    }
    const f = parseStreamFrame(line);
    assert.ok(f.ok, line.slice(0, 100));
    const v = f.value;
    if (v.kind === "depthUpdate") {
      const res = sync.onDiff(v);
      if (res.type === "applied") {
        r.applied++;
        tops.set(res.book.updateId, `${res.book.bestBid()}/${res.book.bestAsk()}`);
      }
      if (res.type === "gap") r.gaps++;
      if (res.type === "crossed") r.crossed++;
    } else if (v.kind === "bookTicker") {
      tickers.push([v.updateId, `${v.bidPrice},${v.bidQty}/${v.askPrice},${v.askQty}`]);
    }
  }
  for (const [id, ticker] of tickers) {
    const top = tops.get(id);
    if (top === undefined) continue;
    r.tickerChecks++;
    if (top !== ticker) r.tickerMismatches.push(`${id}: book ${top} ticker ${ticker}`);
  }
  return r;
}

async function* gzLines(file: string): AsyncIterable<string> {
  const rl = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const l of rl) yield l.slice(l.indexOf(" ") + 1);
}

test("spot excerpt: snapshot + diffs rebuild with no gap, and the best levels equal bookTicker", async () => {
  const r = await rebuild(hftLines("spot_btcusdt_20240808_head.jsonl"), "spot");
  assert.equal(r.gaps, 0);
  assert.equal(r.crossed, 0);
  assert.ok(r.applied > 200, `applied ${r.applied}`);
  assert.ok(r.tickerChecks > 0, "some bookTicker shares an update id with the book");
  assert.deepEqual(r.tickerMismatches, []);
});

test("USD-M excerpt: pu chaining rebuilds with no gap, and the best levels equal bookTicker", async () => {
  const r = await rebuild(hftLines("usdm_btcusdt_20240808_head.jsonl"), "usdm");
  assert.equal(r.gaps, 0);
  assert.equal(r.crossed, 0);
  assert.ok(r.applied > 100, `applied ${r.applied}`);
  assert.deepEqual(r.tickerMismatches, []);
});

for (const [file, mode] of [
  ["spot_btcusdt_20240808.gz", "spot"],
  ["usdm_btcusdt_20240808.gz", "usdm"],
] as const) {
  const full = path.join(sharedDataDir(), "binance/hftbacktest", file);
  test(
    `whole recording ${file}: 0 gaps, 0 crossed, every shared-id bookTicker equal`,
    { skip: !existsSync(full) && `${full} not present` },
    async () => {
      const r = await rebuild(gzLines(full), mode);
      assert.equal(r.gaps, 0);
      assert.equal(r.crossed, 0);
      assert.deepEqual(r.tickerMismatches.slice(0, 5), []);
      assert.ok(r.tickerChecks > 300, `only ${r.tickerChecks} bookTicker frames shared an id with the book`);
    },
  );
}

const diff = (
  U: number,
  u: number,
  bids: [number, number][] = [],
  asks: [number, number][] = [],
  pu?: number,
): DepthDiff => ({
  kind: "depthUpdate",
  stream: "x@depth",
  symbol: "X",
  eventTimeMs: 0,
  firstUpdateId: U,
  finalUpdateId: u,
  bids,
  asks,
  ...(pu === undefined ? {} : { prevFinalUpdateId: pu }),
});
const snap = (L: number) => ({
  lastUpdateId: L,
  bids: [[100, 1]] as [number, number][],
  asks: [[101, 1]] as [number, number][],
});

test("spot: first event asks for one snapshot; a gap is reported on the very next event", () => {
  const s = new BookSync("X");
  assert.deepEqual(s.onDiff(diff(10, 12)), { type: "buffered", needSnapshot: true });
  assert.deepEqual(s.onDiff(diff(13, 15)), { type: "buffered", needSnapshot: false });
  const r = s.onSnapshot(snap(12));
  assert.ok(r.type === "synced" && r.applied.length === 1 && r.book.updateId === 15);
  assert.equal(s.onDiff(diff(16, 18)).type, "applied");
  const g = s.onDiff(diff(20, 22));
  assert.ok(g.type === "gap" && g.expectedFirstUpdateId === 19);
  assert.equal(s.state, "awaiting_snapshot");
  // Until a new snapshot arrives nothing is applied.
  assert.equal(s.onDiff(diff(23, 24)).type, "buffered");
  const again = s.onSnapshot(snap(22));
  assert.ok(again.type === "synced" && again.book.updateId === 24);
});

test("spot: stale and duplicate events are ignored, not applied twice", () => {
  const s = new BookSync("X");
  s.onDiff(diff(10, 12));
  s.onSnapshot(snap(11));
  assert.equal(s.book.updateId, 12);
  assert.equal(s.onDiff(diff(10, 12)).type, "ignored_stale");
  assert.equal(s.onDiff(diff(5, 9)).type, "ignored_stale");
  assert.equal(s.onDiff(diff(13, 13)).type, "applied");
});

test("spot: a snapshot older than the first buffered U is refetched", () => {
  const s = new BookSync("X");
  s.onDiff(diff(10, 12));
  assert.equal(s.onSnapshot(snap(8)).type, "refetch");
  assert.equal(s.onSnapshot(snap(10)).type, "synced");
});

test("spot: an event ending exactly at the snapshot id is dropped and the next one bridges", () => {
  const s = new BookSync("X");
  s.onDiff(diff(5, 10));
  s.onDiff(diff(11, 14));
  const r = s.onSnapshot(snap(10));
  assert.ok(r.type === "synced" && r.applied.length === 1 && r.book.updateId === 14);
});

test("usdm: first event must straddle the snapshot, then pu must chain", () => {
  const s = new BookSync("X", { mode: "usdm" });
  s.onDiff(diff(90, 95, [], [], 89));
  s.onDiff(diff(96, 110, [], [], 95));
  const r = s.onSnapshot(snap(100));
  assert.ok(r.type === "synced" && r.applied.length === 1 && r.book.updateId === 110);
  assert.equal(s.onDiff(diff(111, 120, [], [], 110)).type, "applied");
  assert.equal(s.onDiff(diff(130, 140, [], [], 125)).type, "gap");
});

test("usdm: a snapshot taken exactly at an event boundary (u == lastUpdateId) chains on by pu", () => {
  // The event ending at L was buffered: it is already in the snapshot, and the next chains to it.
  const a = new BookSync("X", { mode: "usdm" });
  a.onDiff(diff(90, 100, [], [], 89));
  a.onDiff(diff(101, 110, [], [], 100));
  const r = a.onSnapshot(snap(100));
  assert.ok(r.type === "synced" && r.book.updateId === 110, JSON.stringify(r).slice(0, 200));
  assert.equal(a.onDiff(diff(111, 120, [], [], 110)).type, "applied");
  // The snapshot overtook that event on the wire: it arrives after, and is no gap.
  const b = new BookSync("X", { mode: "usdm" });
  b.onDiff(diff(80, 89, [], [], 79));
  assert.equal(b.onSnapshot(snap(100)).type, "synced");
  assert.equal(b.onDiff(diff(90, 100, [], [], 89)).type, "ignored_stale");
  assert.equal(b.onDiff(diff(101, 110, [], [], 100)).type, "applied");
  // It never comes: the next event's pu proves continuity from the snapshot.
  const c = new BookSync("X", { mode: "usdm" });
  c.onDiff(diff(80, 89, [], [], 79));
  c.onSnapshot(snap(100));
  assert.equal(c.onDiff(diff(101, 110, [], [], 100)).type, "applied");
  // But a first event that neither straddles L nor chains to it is a gap.
  const d = new BookSync("X", { mode: "usdm" });
  d.onDiff(diff(80, 89, [], [], 79));
  d.onSnapshot(snap(100));
  assert.equal(d.onDiff(diff(105, 110, [], [], 104)).type, "gap");
});

test("a diff that crosses the book discards it and asks for a snapshot", () => {
  const s = new BookSync("X");
  s.onDiff(diff(10, 12));
  s.onSnapshot(snap(12));
  const r = s.onDiff(diff(13, 14, [[102, 1]]));
  assert.equal(r.type, "crossed");
  assert.equal(s.state, "awaiting_snapshot");
});

test("the buffer is bounded while a snapshot is awaited", () => {
  const s = new BookSync("X", { maxBufferedEvents: 5 });
  for (let i = 0; i < 100; i++) s.onDiff(diff(i * 2 + 1, i * 2 + 2));
  assert.equal(s.counters().dropped, 95);
  // The oldest events are gone, so an old snapshot can no longer bridge.
  assert.equal(s.onSnapshot(snap(10)).type, "refetch");
  assert.equal(s.onSnapshot(snap(191)).type, "synced");
});
