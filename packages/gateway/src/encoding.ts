import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  MarketUpdateBatchSchema,
  StreamMarketUpdatesResponseSchema,
  encodeMarketUpdate,
  type MarketUpdate,
  type StreamMarketUpdatesResponse,
  type SymbolStatus,
} from "@quantcore/proto";

/** Field numbers in StreamMarketUpdatesResponse's oneof, and of MarketUpdateBatch.updates. */
const UPDATE_FIELD_NO = 1;
const BATCH_FIELD_NO = 4;
const BATCH_UPDATES_FIELD_NO = 1;

const CRLF = Buffer.from("\r\n");

/** An enveloped message written as is to every stream that takes it. */
export class SharedFrame {
  private chunk: Buffer | undefined;
  constructor(readonly bytes: Uint8Array) {}

  /**
   * The frame as one HTTP/1.1 chunk (size line, data, CRLF), built once for every HTTP/1.1
   * stream: one socket write each, where the response's own chunked write is four.
   */
  httpChunk(): Buffer {
    this.chunk ??= Buffer.concat([Buffer.from(`${this.bytes.length.toString(16)}\r\n`, "latin1"), this.bytes, CRLF]);
    return this.chunk;
  }
}

/**
 * Where an update stands in its symbol's history, as one comparable number: (book_epoch, update_id),
 * so a newer epoch is newer whatever its id (book.proto).
 */
export const positionOf = (bookEpoch: bigint, updateId: bigint): bigint => (bookEpoch << 64n) | updateId;

/** One live update as every stream sends it: stamped once, encoded at most once. */
export class SharedUpdate {
  private encoded: Uint8Array | undefined;
  private frame: SharedFrame | undefined;
  /** positionOf(book_epoch, update_id): streams drop what is not newer than what they sent. */
  readonly position: bigint;
  constructor(readonly update: MarketUpdate) {
    this.position = positionOf(update.bookEpoch, update.updateId);
  }

  /** MarketUpdate bytes. */
  wire(): Uint8Array {
    this.encoded ??= encodeMarketUpdate(this.update);
    return this.encoded;
  }

  /** The whole enveloped response carrying this update alone. */
  singleFrame(): SharedFrame {
    this.frame ??= new SharedFrame(envelope(responseBytes([this])));
    return this.frame;
  }
}

/** One status change as every stream sends it: encoded at most once. */
export class SharedStatus {
  private frame: SharedFrame | undefined;
  /** Same state, reason and entry time = the same status (a stream never gets it twice in a row). */
  readonly key: string;
  constructor(readonly status: SymbolStatus) {
    this.key = statusKey(status);
  }

  response(): StreamMarketUpdatesResponse {
    return create(StreamMarketUpdatesResponseSchema, { event: { case: "status", value: this.status } });
  }

  singleFrame(): SharedFrame {
    this.frame ??= new SharedFrame(envelope(toBinary(StreamMarketUpdatesResponseSchema, this.response())));
    return this.frame;
  }
}

export const statusKey = (s: SymbolStatus) => `${s.state}|${s.sinceUs}|${s.reason}`;

/** StreamMarketUpdatesResponse bytes: one update, or several as a `batch`, from the shared encodings. */
function responseBytes(updates: readonly SharedUpdate[]): Uint8Array {
  return responseWire(updates.map((u) => u.wire()));
}

/** StreamMarketUpdatesResponse bytes for MarketUpdate encodings: one alone (`update`), several as one `batch`. */
export function responseWire(updates: readonly Uint8Array[]): Uint8Array {
  const w = new BinaryWriter();
  // bytes() writes a length prefix and the encoding as it is; fork/join writes the batch's length prefix.
  if (updates.length === 1) return w.tag(UPDATE_FIELD_NO, WireType.LengthDelimited).bytes(updates[0]!).finish();
  w.tag(BATCH_FIELD_NO, WireType.LengthDelimited).fork();
  for (const u of updates) w.tag(BATCH_UPDATES_FIELD_NO, WireType.LengthDelimited).bytes(u);
  return w.join().finish();
}

/**
 * gRPC, gRPC-Web and the Connect streaming protocol frame a message alike (flags byte, 4-byte
 * big-endian length), so one uncompressed frame serves every binary stream.
 */
export function envelope(message: Uint8Array): Uint8Array {
  return envelopes([message]);
}

/** Several messages enveloped back to back in ONE buffer (one transport write), each copied once. */
export function envelopes(messages: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const m of messages) total += 5 + m.length;
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const m of messages) {
    out[pos] = 0;
    out.writeUInt32BE(m.length, pos + 1);
    out.set(m, pos + 5);
    pos += 5 + m.length;
  }
  return out;
}

/** The enveloped response for these updates: one update alone, several as one batch. */
export function frameOf(updates: readonly SharedUpdate[]): SharedFrame {
  return updates.length === 1 ? updates[0]!.singleFrame() : new SharedFrame(envelope(responseBytes(updates)));
}

/** Streams handed the same list (a shared snapshot read) share its bytes: each stream keeps its last message. */
const responses = new WeakMap<readonly SharedUpdate[], Uint8Array>();

/**
 * A response for connect's own write path whose oneof field is bytes already encoded: protobuf-es
 * writes unknown fields verbatim, so shared encodings go out without re-serializing per client.
 */
export function preEncodedResponse(updates: readonly SharedUpdate[]): StreamMarketUpdatesResponse {
  let bytes = responses.get(updates);
  if (!bytes) {
    bytes = responseBytes(updates);
    responses.set(updates, bytes);
  }
  return preEncoded(bytes, updates.length > 1);
}

/**
 * A response whose oneof is `bytes` (responseWire's: one field, a 1-byte tag as field numbers < 16,
 * and its length-prefixed value): protobuf-es takes the value as an unknown field and writes the tag itself.
 */
export function preEncoded(bytes: Uint8Array, batch: boolean): StreamMarketUpdatesResponse {
  const r = create(StreamMarketUpdatesResponseSchema);
  r.$unknown = [
    { no: batch ? BATCH_FIELD_NO : UPDATE_FIELD_NO, wireType: WireType.LengthDelimited, data: bytes.subarray(1) },
  ];
  return r;
}

export const respond = (event: StreamMarketUpdatesResponse["event"]) =>
  create(StreamMarketUpdatesResponseSchema, { event });

/**
 * One response per update, or all of them as one batch when allowed. Serializing a message per
 * client was the fan-out's main cost: binary codecs get shared bytes, JSON gets objects.
 */
export function responsesOf(
  shared: readonly SharedUpdate[],
  allowBatches: boolean,
  binary: boolean,
): StreamMarketUpdatesResponse[] {
  const groups = allowBatches && shared.length > 1 ? [shared] : shared.map((s) => [s]);
  if (binary) return groups.map(preEncodedResponse);
  return groups.map((g) =>
    g.length === 1
      ? respond({ case: "update", value: g[0]!.update })
      : respond({ case: "batch", value: create(MarketUpdateBatchSchema, { updates: g.map((s) => s.update) }) }),
  );
}
