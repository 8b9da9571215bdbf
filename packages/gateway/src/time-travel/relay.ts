// Replayed updates relayed as bytes: the replay worker writes each as client-ready MarketUpdate
// bytes (the hand-written encoder), so the gateway only reads the symbol, stamps its send time in
// place and frames them; nothing is decoded for binary clients (a generic decode was ~47 µs per
// update, on the fan-out's event loop). Pure.
import { create, fromBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import {
  MarketUpdateBatchSchema,
  MarketUpdateSchema,
  StreamMarketUpdatesResponseSchema,
  type StreamMarketUpdatesResponse,
} from "@quantcore/proto";
import { QuantCoreError } from "@quantcore/runtime";
import { envelopes, preEncoded, responseWire } from "../encoding.js";
import { distinctSymbolRuns } from "./handover.js";

/** One replayed update: its symbol and its MarketUpdate bytes (gateway_send_us stamped). */
export interface ReplayedBytes {
  symbol: string;
  bytes: Uint8Array;
}

/** MarketUpdate.symbol, MarketUpdate.timestamps, HopTimestamps.gateway_send_us. */
const SYMBOL_NO = 1;
const TIMESTAMPS_NO = 4;
const GATEWAY_SEND_NO = 6;
/** MarketUpdateBatch.updates (an `updates` entry is a batch's bytes). */
const BATCH_UPDATES_NO = 1;

const varintSize = (n: number) => {
  let size = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
};

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n > 0x7f) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

class Cursor {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  varint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.end || mul > 2 ** 63) throw new Error("truncated varint");
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 128;
    }
  }
  /** Skips a field's value of this wire type; returns [start, end) of a length-delimited one. */
  skip(wireType: number): [number, number] {
    const start = this.pos;
    if (wireType === WireType.Varint) this.varint();
    else if (wireType === WireType.Bit64) this.pos += 8;
    else if (wireType === WireType.Bit32) this.pos += 4;
    else if (wireType === WireType.LengthDelimited) {
      const len = this.varint();
      const from = this.pos;
      this.pos += len;
      if (this.pos > this.end) throw new Error("truncated field");
      return [from, this.pos];
    } else throw new Error(`unsupported wire type ${wireType}`);
    if (this.pos > this.end) throw new Error("truncated field");
    return [start, this.pos];
  }
}

const stampBytes = (sendUs: number) => {
  const b = Buffer.allocUnsafe(9);
  b[0] = (GATEWAY_SEND_NO << 3) | WireType.Bit64;
  b.writeDoubleLE(sendUs, 1);
  return b;
};

/**
 * The symbol of a MarketUpdate's bytes, and the bytes with timestamps.gateway_send_us = `sendUs`:
 * overwritten in place when the field is there (the worker writes a placeholder), else inserted.
 * An update that does not parse is an internal error naming `source`.
 */
export function stampReplayed(bytes: Buffer, sendUs: number, source: string): ReplayedBytes {
  try {
    const c = new Cursor(bytes, 0, bytes.length);
    let symbol: string | undefined;
    /** Where the timestamps field's length starts, and its value's [start, end). */
    let ts: { lenAt: number; start: number; end: number } | undefined;
    while (c.pos < c.end) {
      const tag = c.varint();
      const lenAt = c.pos;
      const [start, end] = c.skip(tag & 7);
      if (tag === ((SYMBOL_NO << 3) | WireType.LengthDelimited)) symbol = bytes.toString("utf8", start, end);
      else if (tag === ((TIMESTAMPS_NO << 3) | WireType.LengthDelimited)) ts = { lenAt, start, end };
    }
    if (!symbol) throw new Error("no symbol");
    if (!ts) {
      // No timestamps at all: one appended field is the whole message.
      const field = Buffer.concat([
        Buffer.from([(TIMESTAMPS_NO << 3) | WireType.LengthDelimited, 9]),
        stampBytes(sendUs),
      ]);
      return { symbol, bytes: Buffer.concat([bytes, field]) };
    }
    const t = new Cursor(bytes, ts.start, ts.end);
    while (t.pos < t.end) {
      const tag = t.varint();
      const [start] = t.skip(tag & 7);
      if (tag === ((GATEWAY_SEND_NO << 3) | WireType.Bit64)) {
        bytes.writeDoubleLE(sendUs, start);
        return { symbol, bytes };
      }
    }
    // Not there: inserted at the end of timestamps, its length rewritten.
    const newLen = ts.end - ts.start + 9;
    const len = Buffer.allocUnsafe(varintSize(newLen));
    writeVarint(len, 0, newLen);
    const out = Buffer.concat([
      bytes.subarray(0, ts.lenAt),
      len,
      bytes.subarray(ts.start, ts.end),
      stampBytes(sendUs),
      bytes.subarray(ts.end),
    ]);
    return { symbol, bytes: out };
  } catch (err) {
    throw new QuantCoreError("internal", `${source}: update entry does not parse: ${String(err)}`);
  }
}

/**
 * The MarketUpdate bytes in an `updates` entry (a MarketUpdateBatch's bytes: field 1 repeated),
 * in order, as views of it (no copy). A malformed entry is an internal error naming `source`.
 */
export function splitUpdates(bytes: Buffer, source: string): Buffer[] {
  const out: Buffer[] = [];
  try {
    const c = new Cursor(bytes, 0, bytes.length);
    while (c.pos < c.end) {
      const tag = c.varint();
      if (tag !== ((BATCH_UPDATES_NO << 3) | WireType.LengthDelimited)) throw new Error(`unexpected tag ${tag}`);
      const [start, end] = c.skip(WireType.LengthDelimited);
      out.push(bytes.subarray(start, end));
    }
  } catch (err) {
    throw new QuantCoreError("internal", `${source}: updates entry does not parse: ${String(err)}`);
  }
  return out;
}

/**
 * The messages these updates go out as, in order: each alone (`update`), or, with batches allowed,
 * each run of distinct symbols as one `batch` (a run of one as `update`, as the fan-out does).
 */
export function replayMessages(updates: readonly ReplayedBytes[], allowBatches: boolean): ReplayedBytes[][] {
  return allowBatches ? distinctSymbolRuns(updates) : updates.map((u) => [u]);
}

const wires = (m: readonly ReplayedBytes[]) => m.map((u) => u.bytes);

/**
 * The messages as enveloped StreamMarketUpdatesResponse frames (gRPC, gRPC-Web and Connect alike),
 * back to back in ONE buffer: one transport write.
 */
export function replayFrames(messages: readonly (readonly ReplayedBytes[])[]): Buffer {
  return envelopes(messages.map((m) => responseWire(wires(m))));
}

/**
 * The messages as responses for connect's own write path. Binary clients: pre-encoded (the oneof's
 * value rides as an unknown field, which protobuf-es writes verbatim); JSON clients: decoded.
 */
export function replayResponses(
  messages: readonly (readonly ReplayedBytes[])[],
  binary: boolean,
): StreamMarketUpdatesResponse[] {
  return messages.map((m) => {
    if (binary) return preEncoded(responseWire(wires(m)), m.length > 1);
    const updates = m.map((u) => fromBinary(MarketUpdateSchema, u.bytes));
    return create(StreamMarketUpdatesResponseSchema, {
      event:
        updates.length === 1
          ? { case: "update", value: updates[0]! }
          : { case: "batch", value: create(MarketUpdateBatchSchema, { updates }) },
    });
  });
}
