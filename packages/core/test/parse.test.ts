import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDecimal, parseDepthSnapshot, parseStreamFrame, type RejectReason } from "../src/index.js";
import { cryptofeedFrames, cryptofeedSnapshots, hftLines, readVector } from "./vectors.js";

test("every captured spot and USD-M frame parses", () => {
  for (const file of ["spot_btcusdt_20240808_head.jsonl", "usdm_btcusdt_20240808_head.jsonl"]) {
    const kinds = new Map<string, number>();
    for (const line of hftLines(file)) {
      const r =
        line.includes('"lastUpdateId"') && !line.includes('"stream"')
          ? parseDepthSnapshot(line)
          : parseStreamFrame(line);
      assert.ok(r.ok, `${file}: ${r.ok ? "" : `${r.reason} ${r.detail}`} in ${line.slice(0, 120)}`);
      const kind = "kind" in r.value ? r.value.kind : "snapshot";
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    assert.ok((kinds.get("depthUpdate") ?? 0) > 100, `${file}: depth updates ${JSON.stringify([...kinds])}`);
    assert.ok((kinds.get("bookTicker") ?? 0) > 10, `${file}: book tickers`);
    assert.equal(kinds.get("snapshot"), 1);
  }
});

test("USD-M diffs carry pu and T; spot diffs do not", () => {
  const usdm = hftLines("usdm_btcusdt_20240808_head.jsonl")
    .map((l) => parseStreamFrame(l))
    .find((r) => r.ok && r.value.kind === "depthUpdate");
  assert.ok(usdm?.ok && usdm.value.kind === "depthUpdate");
  assert.equal(typeof usdm.value.prevFinalUpdateId, "number");
  assert.equal(typeof usdm.value.transactionTimeMs, "number");
  const spot = parseStreamFrame(hftLines("spot_btcusdt_20240808_head.jsonl")[0]!);
  assert.ok(spot.ok && spot.value.kind === "depthUpdate");
  assert.equal(spot.value.prevFinalUpdateId, undefined);
  assert.equal(spot.value.symbol, "BTCUSDT");
  assert.deepEqual(spot.value.bids[0], [61737.63, 0]);
});

test("cryptofeed fixtures: spot and futures frames and REST snapshots parse", () => {
  for (const file of ["cryptofeed_BINANCE.ws.txt", "cryptofeed_BINANCE_FUTURES.ws.txt"]) {
    let depth = 0;
    for (const frame of cryptofeedFrames(file)) {
      const r = parseStreamFrame(frame);
      assert.ok(r.ok, `${file}: ${r.ok ? "" : r.detail}`);
      if (r.value.kind === "depthUpdate") depth++;
    }
    assert.ok(depth > 10, `${file}: ${depth} depth updates`);
  }
  for (const file of ["cryptofeed_BINANCE.http.txt", "cryptofeed_BINANCE_FUTURES.http.txt"]) {
    for (const { url, body } of cryptofeedSnapshots(file)) {
      const r = parseDepthSnapshot(body);
      assert.ok(r.ok, `${url}: ${r.ok ? "" : r.detail}`);
      assert.ok(r.value.bids.length > 0 && r.value.asks.length > 0);
    }
  }
});

test("bad frames are rejected with the documented reason", () => {
  const { cases } = readVector<{ cases: { name: string; parser: string; frame: string; reason: RejectReason }[] }>(
    "bad_frames.json",
  );
  for (const c of cases) {
    const r = c.parser === "snapshot" ? parseDepthSnapshot(c.frame) : parseStreamFrame(c.frame);
    assert.equal(r.ok, false, `${c.name} was accepted`);
    if (!r.ok) assert.equal(r.reason, c.reason, `${c.name}: ${r.detail}`);
  }
  const big = parseStreamFrame("x".repeat(2_000_000));
  assert.ok(!big.ok && big.reason === "oversize");
});

test("parseDecimal accepts plain decimals only", () => {
  assert.deepEqual(parseDecimal("123.4500"), { ok: true, value: 123.45 });
  assert.deepEqual(parseDecimal("0.00000000"), { ok: true, value: 0 });
  for (const bad of ["", " 1", "1 ", "abc", "NaN", "Infinity", "1e400", "1e5", "0x1A", "1.2.3", ".", "+1"]) {
    assert.equal(parseDecimal(bad).ok, false, JSON.stringify(bad));
  }
  assert.equal(parseDecimal(5).ok, false);
  const neg = parseDecimal("-1");
  assert.ok(!neg.ok && neg.reason === "negative");
});

test("control replies and serverShutdown are recognised", () => {
  const ok = parseStreamFrame('{"result":null,"id":1}');
  assert.ok(ok.ok && ok.value.kind === "controlReply" && ok.value.id === 1);
  const err = parseStreamFrame('{"code":2,"msg":"Invalid request: invalid stream","id":"a1"}');
  assert.ok(err.ok && err.value.kind === "controlReply" && err.value.error?.code === 2);
  const sd = parseStreamFrame('{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}');
  assert.ok(sd.ok && sd.value.kind === "serverShutdown" && sd.value.eventTimeMs === 1770123456789);
});
