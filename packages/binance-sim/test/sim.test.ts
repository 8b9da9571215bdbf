import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import { waitFor } from "@quantcore/runtime";
import { defaultReplayFiles, startBinanceSim, type BinanceSim } from "../src/index.js";

let sim: BinanceSim;
before(async () => {
  sim = await startBinanceSim({
    replayFiles: defaultReplayFiles(),
    speed: 20,
    syntheticSymbols: ["SOLUSDT"],
    syntheticUpdatesPerSecond: 50,
  });
});
after(async () => {
  await sim.close();
});

function open(url: string): Promise<{ ws: WebSocket; frames: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const frames: string[] = [];
    ws.on("message", (d) => frames.push(d.toString()));
    ws.on("open", () => resolve({ ws, frames }));
    ws.on("error", reject);
  });
}

interface Diff {
  U: number;
  u: number;
  b: [string, string][];
  a: [string, string][];
}

test("combined stream: only subscribed streams, wrapped; REST snapshot + buffered diffs rebuild the book", async () => {
  const { ws, frames } = await open(`${sim.wsUrl}/stream?streams=btcusdt@depth@100ms/solusdt@depth@100ms`);
  await waitFor(() => frames.length >= 5, "first frames");
  const res = await fetch(`${sim.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=1000`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-mbx-used-weight-1m"), "50");
  const snap = (await res.json()) as { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] };
  // Relative to what had arrived when the snapshot came back: a slow REST answer must not starve the check.
  const btcFrames = () => frames.filter((f) => f.includes("btcusdt")).length;
  const atSnapshot = btcFrames();
  await waitFor(() => btcFrames() >= atSnapshot + 30, "btc diffs after the snapshot");
  ws.close();
  const streams = new Set(frames.map((f) => (JSON.parse(f) as { stream: string }).stream));
  assert.deepEqual([...streams].sort(), ["btcusdt@depth@100ms", "solusdt@depth@100ms"]);
  const diffs = frames
    .map((f) => JSON.parse(f) as { stream: string; data: Diff })
    .filter((f) => f.stream === "btcusdt@depth@100ms")
    .map((f) => f.data);
  assert.ok(diffs[0]!.U <= snap.lastUpdateId + 1, "the snapshot falls inside the buffered stream");
  let id = snap.lastUpdateId;
  let applied = 0;
  for (const d of diffs) {
    if (d.u <= id) continue;
    assert.ok(d.U <= id + 1, `gap at U=${d.U} after ${id}`);
    id = d.u;
    applied++;
  }
  assert.ok(applied >= 20, `only ${applied} diffs applied after the snapshot`);
  for (const f of frames.filter((x) => x.includes("solusdt"))) {
    const d = (JSON.parse(f) as { data: Diff }).data;
    assert.ok(d.u - d.U + 1 > d.b.length + d.a.length - 1, "u - U + 1 exceeds the levels changed");
  }
});

test("control messages answer exactly as Binance documents", async () => {
  // More than 5 control messages per second would (rightly) be disconnected: raise the limit here.
  const s = await startBinanceSim({ syntheticSymbols: ["BTCUSDT"], maxIncomingMessagesPerSecond: 100 });
  const { ws, frames } = await open(`${s.wsUrl}/ws`);
  after(() => s.close());
  const ask = async (msg: unknown) => {
    const n = frames.length;
    ws.send(JSON.stringify(msg));
    await waitFor(() => frames.slice(n).find((f) => f.includes('"id"') || f.includes('"code"')), "reply");
    return frames.slice(n).find((f) => f.includes('"id"') || f.includes('"code"'))!;
  };
  assert.equal(await ask({ method: "SUBSCRIBE", params: ["btcusdt@bookTicker"], id: 1 }), '{"result":null,"id":1}');
  assert.equal(await ask({ method: "LIST_SUBSCRIPTIONS", id: 3 }), '{"result":["btcusdt@bookTicker"],"id":3}');
  assert.equal(await ask({ method: "GET_PROPERTY", params: ["combined"], id: 2 }), '{"result":false,"id":2}');
  assert.equal(
    await ask({ method: "SUBSCRIBE", params: ["btcusdt@nonsense"], id: 4 }),
    '{"code":2,"msg":"Invalid request: invalid stream","id":4}',
  );
  assert.equal(
    await ask({ method: "SET_PROPERTY", params: ["combined", "yes"], id: 5 }),
    '{"code":1,"msg":"Invalid value type: expected Boolean"}',
  );
  assert.match(await ask({ method: "FOO", id: 6 }), /unknown variant `FOO`, expected one of `SUBSCRIBE`/);
  ws.close();
});

test("more than 5 incoming messages in a second closes the connection with 1008", async () => {
  const { ws } = await open(`${sim.wsUrl}/ws`);
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  for (let i = 0; i < 8; i++) ws.send(JSON.stringify({ method: "LIST_SUBSCRIPTIONS", id: i }));
  assert.equal(await closed, 1008);
});

test("dropNext makes the client see a U gap", async () => {
  const { ws, frames } = await open(`${sim.wsUrl}/stream?streams=solusdt@depth@100ms`);
  await waitFor(() => frames.length >= 3, "frames");
  sim.faults.dropNext("SOLUSDT");
  const n = frames.length;
  await waitFor(() => frames.length >= n + 3, "more frames");
  ws.close();
  const ds = frames.map((f) => (JSON.parse(f) as { data: Diff }).data);
  const gaps = ds.slice(1).filter((d, i) => d.U !== ds[i]!.u + 1);
  assert.equal(gaps.length, 1);
});

test("REST: unknown symbol, and 429 then 418 when the weight budget is exceeded", async () => {
  const bad = await fetch(`${sim.restUrl}/api/v3/depth?symbol=NOPE`);
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), { code: -1121, msg: "Invalid symbol." });
  const small = await startBinanceSim({ restWeightPerMinute: 300, syntheticSymbols: ["SOLUSDT"] });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await fetch(`${small.restUrl}/api/v3/depth?symbol=SOLUSDT&limit=5000`)).status);
    assert.deepEqual(statuses, [200, 429, 418]);
  } finally {
    await small.close();
  }
});

test("ping is sent and a client that never pongs is disconnected", async () => {
  const s = await startBinanceSim({ syntheticSymbols: ["SOLUSDT"], pingIntervalMs: 50, pongTimeoutMs: 100 });
  try {
    const ws = new WebSocket(`${s.wsUrl}/ws/solusdt@depth`, { autoPong: false });
    let pings = 0;
    ws.on("ping", () => pings++);
    const closed = new Promise<void>((resolve) => ws.on("close", () => resolve()));
    await closed;
    assert.ok(pings >= 1);
  } finally {
    await s.close();
  }
});

test("synthetic books: cached best prices always equal a full scan, ids chain, never crossed", async () => {
  const { SyntheticBook } = await import("../src/synthetic.js");
  for (const [i, symbol] of ["BTCUSDT", "PEPEUSDT", "SHIBUSDT"].entries()) {
    const gen = new SyntheticBook(symbol, 7 + i);
    let prevU = gen.book.lastUpdateId;
    for (let k = 0; k < 5_000; k++) {
      const e = gen.next();
      assert.equal(e.U, prevU + 1, `${symbol}: U continues u`);
      prevU = e.u;
      let bb = -Infinity;
      for (const p of gen.book.bids.keys()) bb = Math.max(bb, Number(p));
      let ba = Infinity;
      for (const p of gen.book.asks.keys()) ba = Math.min(ba, Number(p));
      assert.equal(gen.book.bestBid(), bb);
      assert.equal(gen.book.bestAsk(), ba);
      assert.ok(bb < ba, `${symbol}: crossed at event ${k}`);
    }
  }
});

test("a missing recording is a clear error at start, not an uncaught ENOENT mid-replay", async () => {
  await assert.rejects(
    startBinanceSim({ replayFiles: ["/nonexistent/spot_btcusdt_20240808.gz"] }),
    /replay files not found: \/nonexistent\/spot_btcusdt_20240808\.gz .*QUANTCORE_SHARED_DIR/,
  );
});
