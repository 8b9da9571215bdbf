import assert from "node:assert/strict";
import { test } from "node:test";
import { deadLetterMessage, symbolOfRaw } from "../src/dead-letter.js";
import { RECORD_BATCH_OVERHEAD_BYTES, recordBytes } from "../src/record-size.js";

const meta = {
  reason: "oversize",
  detail: "frame of 1500000 chars > 1048576",
  shardId: 3,
  receiveUs: 1_700_000_000_000_000,
};
const frame = (n: number, fill = "x") => `{"stream":"btcusdt@depth@100ms","data":{"pad":"${fill.repeat(n)}"}}`;
const LIMIT = 1_000_000;

test("a dead letter that fits is kept whole, with its reason, size and symbol", () => {
  const raw = frame(100);
  const m = deadLetterMessage(raw, meta, LIMIT);
  assert.equal(m.key, "BTCUSDT");
  assert.equal(m.value!.toString(), raw);
  assert.equal(m.headers!["qc-reason"], "oversize");
  assert.equal(m.headers!["qc-shard"], "3");
  assert.equal(m.headers!["qc-original-bytes"], String(Buffer.byteLength(raw)));
  assert.equal(m.headers!["qc-truncated"], undefined);
});

test("an oversize frame is cut so the record, alone in its batch, fits the limit with key and headers; marked truncated", () => {
  for (const [n, fill] of [
    [1_500_000, "x"],
    [600_000, "€"], // 3 bytes per character: the cut must not split one
    [999_900, "x"], // just over once headers are counted
  ] as const) {
    const raw = frame(n, fill);
    const m = deadLetterMessage(raw, { ...meta, detail: "d".repeat(10_000) }, LIMIT);
    const size = RECORD_BATCH_OVERHEAD_BYTES + recordBytes(m);
    assert.ok(size <= LIMIT, `${n}x${fill}: ${size} bytes > ${LIMIT}`);
    assert.ok(size > LIMIT - 16, `${n}x${fill}: cut no further than needed (${size})`);
    assert.equal(m.headers!["qc-truncated"], "true");
    assert.equal(m.headers!["qc-original-bytes"], String(Buffer.byteLength(raw)));
    assert.equal((m.headers!["qc-detail"] as string).length, 500);
    const text = m.value!.toString();
    assert.ok(raw.startsWith(text), "the value is the frame's head");
    assert.ok(!text.includes("\uFFFD"), "no character split");
  }
});

test("the dead letter's key is the frame's symbol when recognisable", () => {
  assert.equal(symbolOfRaw('{"stream":"ethusdt@depth@100ms","data":{'), "ETHUSDT");
  assert.equal(symbolOfRaw('{"e":"depthUpdate","s":"SOLUSDT"'), "SOLUSDT");
  assert.equal(symbolOfRaw("not json"), "");
  assert.equal(deadLetterMessage("not json", meta, LIMIT).key, null);
});
