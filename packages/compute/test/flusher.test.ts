import assert from "node:assert/strict";
import { test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { BookUpdateKind, MarketUpdateSchema, type BookUpdateFields } from "@quantcore/proto";
import { StateFlusher, type FetchedBatch } from "../src/flusher.js";
import { DEFAULT_COMPUTE_OPTIONS } from "../src/options.js";
import type { RedisStateWriter, StateWrite } from "../src/redis-writer.js";
import { SignalEngine } from "../src/signals.js";

const rec = (symbol: string, id: number, bidQty: number): BookUpdateFields => ({
  symbol,
  kind: BookUpdateKind.UPDATE,
  updateId: BigInt(id),
  firstUpdateId: BigInt(id),
  exchangeEventTimeMs: 1_723_161_255_208 + id * 7,
  ingestReceiveTimeUs: 0,
  ingestProduceTimeUs: 0,
  bids: [{ price: 100 + (id % 3) * 0.01, quantity: bidQty }],
  asks: [{ price: 101, quantity: 2 }],
  shardId: 0,
  bookEpoch: 1n,
});

/**
 * A writer that acknowledges every write and keeps it (the Redis side is tested elsewhere); its
 * first write waits for `release`, so batches added meanwhile share the next flush.
 */
function memoryWriter(): { writer: RedisStateWriter; writes: StateWrite[]; release: () => void } {
  const writes: StateWrite[] = [];
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let calls = 0;
  const writer = {
    write: async (w: StateWrite[]) => {
      if (calls++ === 0) await held;
      writes.push(...w);
      return w.length;
    },
  } as unknown as RedisStateWriter;
  return { writer, writes, release };
}

test("one write per symbol per flush, the newest (epoch, id), with the OFI of every record before it", async () => {
  const { writer, writes, release } = memoryWriter();
  const engine = new SignalEngine(DEFAULT_COMPUTE_OPTIONS);
  const written: FetchedBatch[][] = [];
  const flusher = new StateFlusher(writer, engine, {
    onWritten: (batches) => void written.push(batches),
    restoreOfi: async () => {},
  });
  // A first write in flight, then two partitions' batches that share the next flush; BTCUSDT has
  // several records there, one of them twice (a producer's re-send).
  flusher.add({ partition: 2, nextOffset: 1n, records: [rec("SOLUSDT", 1, 1)], receiveUs: 0 });
  const a = [rec("BTCUSDT", 1, 1), rec("BTCUSDT", 2, 3), rec("ETHUSDT", 1, 5), rec("BTCUSDT", 3, 2)];
  const b = [rec("BTCUSDT", 3, 2), rec("ETHUSDT", 2, 1)];
  flusher.add({ partition: 0, nextOffset: 4n, records: a, receiveUs: 1 });
  flusher.add({ partition: 1, nextOffset: 2n, records: b, receiveUs: 2 });
  release();
  const deadline = Date.now() + 10_000;
  while (written.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await flusher.stop();
  assert.deepEqual(
    written.map((w) => w.map((x) => x.partition)),
    [[2], [0, 1]],
  );
  writes.shift(); // SOLUSDT's
  // What an engine summing after every record publishes for the same records.
  const eager = new SignalEngine(DEFAULT_COMPUTE_OPTIONS);
  const expected = new Map<string, number[] | undefined>();
  for (const r of [rec("SOLUSDT", 1, 1), ...a, ...b]) {
    const ofi = eager.trackOfi(r);
    if (ofi) expected.set(r.symbol, ofi);
  }
  const bySymbol = new Map(writes.map((w) => [w.symbol, fromBinary(MarketUpdateSchema, w.payload)]));
  assert.deepEqual([...bySymbol.keys()].sort(), ["BTCUSDT", "ETHUSDT"]);
  assert.equal(bySymbol.get("BTCUSDT")!.updateId, 3n);
  assert.equal(bySymbol.get("ETHUSDT")!.updateId, 2n);
  for (const [symbol, u] of bySymbol) {
    // The duplicate of BTCUSDT 3 does not replace the record OFI counted: the OFI fields are there.
    assert.deepEqual([u.signals?.ofi1s, u.signals?.ofi10s], expected.get(symbol), symbol);
  }
  assert.equal(flusher.stats.writesSavedByDedup, 4);
});
