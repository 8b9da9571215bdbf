// An independent, deliberately naive rebuild of Binance spot books straight from the recorded
// files, for the tests and the load bench's checks. It shares no code with @quantcore/core, so it
// checks the pipeline rather than restating it.
import { createReadStream } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import { sharedDir } from "./shared-dir.js";

export function spotReplayFile(symbol: "btcusdt" | "ethusdt"): string {
  return path.join(sharedDir(), "data/binance/hftbacktest", `spot_${symbol}_20240808.gz`);
}

export interface RefBook {
  id: number;
  bids: Map<string, number>;
  asks: Map<string, number>;
}

function topVolume(side: Map<string, number>, depth: number, best: "max" | "min"): number {
  const levels = [...side.entries()].map(([p, q]) => [Number(p), q] as const);
  levels.sort((a, b) => (best === "max" ? b[0] - a[0] : a[0] - b[0]));
  let v = 0;
  for (const [, q] of levels.slice(0, depth)) v += q;
  return v;
}

/** OBI over the top `depth` levels, summing best-first: (Vb - Va) / (Vb + Va). */
export function referenceObi(book: RefBook, depth: number): number | undefined {
  const vb = topVolume(book.bids, depth, "max");
  const va = topVolume(book.asks, depth, "min");
  if (book.bids.size === 0 || book.asks.size === 0 || vb + va === 0) return undefined;
  return (vb - va) / (vb + va);
}

/** The best bid and ask as [price, quantity], or undefined for an empty side. */
export function referenceTop(book: RefBook): { bid?: [number, number]; ask?: [number, number] } {
  let bid: [number, number] | undefined;
  let ask: [number, number] | undefined;
  for (const [p, q] of book.bids) if (!bid || Number(p) > bid[0]) bid = [Number(p), q];
  for (const [p, q] of book.asks) if (!ask || Number(p) < ask[0]) ask = [Number(p), q];
  return { bid, ask };
}

function applySide(side: Map<string, number>, levels: [string, string][]): void {
  for (const [p, q] of levels) {
    const key = String(Number(p));
    if (Number(q) === 0) side.delete(key);
    else side.set(key, Number(q));
  }
}

/**
 * Replays one recorded spot file (snapshot line + diffs) and calls `visit` after the snapshot
 * and after every applied diff with the book's update id.
 */
export async function replayReference(
  file: string,
  visit: (updateId: number, book: RefBook) => boolean | void,
): Promise<void> {
  const rl = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  let book: RefBook | undefined;
  // Diffs recorded before the REST snapshot arrived: the one straddling it is among them.
  const early: { U: number; u: number; b: [string, string][]; a: [string, string][] }[] = [];
  const apply = (b: RefBook, d: (typeof early)[number]): boolean | void => {
    if (d.u <= b.id) return;
    if (d.U > b.id + 1) throw new Error(`reference rebuild found a gap at U=${d.U} (book ${b.id})`);
    applySide(b.bids, d.b);
    applySide(b.asks, d.a);
    b.id = d.u;
    return visit(b.id, b);
  };
  for await (const line of rl) {
    const json = line.slice(line.indexOf(" ") + 1);
    const msg = JSON.parse(json);
    if (msg.lastUpdateId !== undefined && msg.bids) {
      book = { id: msg.lastUpdateId, bids: new Map(), asks: new Map() };
      applySide(book.bids, msg.bids);
      applySide(book.asks, msg.asks);
      if (visit(book.id, book) === true) break;
      let stop = false;
      for (const d of early) if (apply(book, d) === true) stop = true;
      if (stop) break;
      continue;
    }
    if (typeof msg.stream !== "string" || !msg.stream.includes("@depth")) continue;
    if (!book) early.push(msg.data);
    else if (apply(book, msg.data) === true) break;
  }
  rl.close();
}
