import type { Level } from "@quantcore/core";
import { BookUpdateKind, encodeBookUpdate as encode } from "@quantcore/proto";

export interface RecordFields {
  symbol: string;
  kind: BookUpdateKind;
  updateId: number;
  firstUpdateId: number;
  exchangeEventTimeMs: number;
  ingestReceiveTimeUs: number;
  ingestProduceTimeUs: number;
  bids: Level[];
  asks: Level[];
  shardId: number;
  /** Book epoch of the build this record belongs to (book.proto `book_epoch`). */
  bookEpoch: number;
}

const toLevels = (levels: Level[]) => levels.map(([price, quantity]) => ({ price, quantity }));

/** Encodes one `order_book` record value (quantcore.v1.BookUpdate). */
export function encodeBookUpdate(f: RecordFields): Uint8Array {
  return encode({
    symbol: f.symbol,
    kind: f.kind,
    updateId: BigInt(f.updateId),
    firstUpdateId: BigInt(f.firstUpdateId),
    exchangeEventTimeMs: f.exchangeEventTimeMs,
    ingestReceiveTimeUs: f.ingestReceiveTimeUs,
    ingestProduceTimeUs: f.ingestProduceTimeUs,
    bids: toLevels(f.bids),
    asks: toLevels(f.asks),
    shardId: f.shardId,
    bookEpoch: BigInt(f.bookEpoch),
  });
}

export { BookUpdateKind };
