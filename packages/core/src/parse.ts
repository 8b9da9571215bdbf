// Binance market-data frames -> typed values. Validation is strict because everything
// downstream trusts these numbers: a bad frame is rejected with a reason, never coerced.

import {
  DEFAULT_PARSE_OPTIONS,
  type DepthDiff,
  type ControlReply,
  type StreamFrame,
  type ParseResult,
  type ParseOptions,
  type DepthSnapshot,
} from "./frame-types.js";
import { Reject, fail, decimal, id, time, levels, checkNotCrossed } from "./parse-fields.js";

export { parseDecimal } from "./parse-fields.js";
export {
  DEFAULT_PARSE_OPTIONS,
  type Level,
  type DepthDiff,
  type PartialDepth,
  type BookTicker,
  type Trade,
  type ServerShutdown,
  type ControlReply,
  type StreamFrame,
  type RejectReason,
  type ParseResult,
  type ParseOptions,
  type DepthSnapshot,
} from "./frame-types.js";

function symbolOfStream(stream: string): string {
  const at = stream.indexOf("@");
  return (at < 0 ? stream : stream.slice(0, at)).toUpperCase();
}

function parseJson(text: string, opts: ParseOptions): unknown {
  if (text.length === 0) throw new Reject("empty", "empty frame");
  // Length in UTF-16 units is a lower bound of the UTF-8 size; good enough to refuse giants early.
  if (text.length > opts.maxFrameBytes)
    throw new Reject("oversize", `frame of ${text.length} chars > ${opts.maxFrameBytes}`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Reject("malformed_json", e instanceof Error ? e.message : "bad JSON");
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function payload(stream: string, d: Record<string, unknown>): StreamFrame {
  const e = d.e;
  if (e === "depthUpdate") {
    const firstUpdateId = id(d.U, "U");
    const finalUpdateId = id(d.u, "u");
    if (firstUpdateId > finalUpdateId) throw new Reject("first_after_final", `U ${firstUpdateId} > u ${finalUpdateId}`);
    if (typeof d.s !== "string" || d.s.length === 0) throw new Reject("unknown_shape", "depthUpdate without s");
    const diff: DepthDiff = {
      kind: "depthUpdate",
      stream,
      symbol: d.s,
      eventTimeMs: time(d.E, "E"),
      firstUpdateId,
      finalUpdateId,
      bids: levels(d.b, "b"),
      asks: levels(d.a, "a"),
    };
    if (d.T !== undefined) diff.transactionTimeMs = time(d.T, "T");
    if (d.pu !== undefined) diff.prevFinalUpdateId = id(d.pu, "pu");
    return diff;
  }
  if (e === "trade") {
    return {
      kind: "trade",
      stream,
      symbol: String(d.s),
      tradeId: id(d.t, "t"),
      price: decimal(d.p, "p"),
      qty: decimal(d.q, "q"),
      tradeTimeMs: time(d.T, "T"),
      buyerIsMaker: d.m === true,
    };
  }
  if (e === "serverShutdown") return { kind: "serverShutdown", eventTimeMs: time(d.E, "E") };
  if (d.lastUpdateId !== undefined && d.bids !== undefined) {
    const bids = levels(d.bids, "bids");
    const asks = levels(d.asks, "asks");
    checkNotCrossed(bids, asks, "partial depth");
    return {
      kind: "partialDepth",
      stream,
      symbol: symbolOfStream(stream),
      lastUpdateId: id(d.lastUpdateId, "lastUpdateId"),
      bids,
      asks,
    };
  }
  if (typeof d.u === "number" && typeof d.b === "string" && typeof d.a === "string") {
    return {
      kind: "bookTicker",
      stream,
      symbol: String(d.s ?? symbolOfStream(stream)),
      updateId: id(d.u, "u"),
      bidPrice: decimal(d.b, "b"),
      bidQty: decimal(d.B, "B"),
      askPrice: decimal(d.a, "a"),
      askQty: decimal(d.A, "A"),
    };
  }
  if (typeof e === "string" || stream !== "") return { kind: "ignored", stream: stream || String(e) };
  throw new Reject("unknown_shape", "unrecognised payload");
}

/** Parses one WebSocket text frame: a combined-stream wrapper `{stream, data}` or a raw payload. */
export function parseStreamFrame(text: string, opts: Partial<ParseOptions> = {}): ParseResult<StreamFrame> {
  const o = { ...DEFAULT_PARSE_OPTIONS, ...opts };
  try {
    const v = parseJson(text, o);
    if (!isObject(v)) throw new Reject("unknown_shape", "frame is not a JSON object");
    if ("result" in v || "error" in v || ("code" in v && "msg" in v)) {
      const rawId = v.id;
      const reply: ControlReply = {
        kind: "controlReply",
        id: typeof rawId === "number" || typeof rawId === "string" ? rawId : null,
      };
      if ("result" in v) reply.result = v.result;
      if (typeof v.code === "number") reply.error = { code: v.code, msg: String(v.msg) };
      return { ok: true, value: reply };
    }
    if (typeof v.stream === "string") {
      if (!isObject(v.data)) throw new Reject("unknown_shape", "combined frame without data object");
      return { ok: true, value: payload(v.stream, v.data) };
    }
    return { ok: true, value: payload("", v) };
  } catch (e) {
    if (e instanceof Reject) return fail(e.reason, e.message);
    throw e;
  }
}

/** Parses a REST depth snapshot (`/api/v3/depth`, `/fapi/v1/depth`). */
export function parseDepthSnapshot(text: string, opts: Partial<ParseOptions> = {}): ParseResult<DepthSnapshot> {
  const o = { ...DEFAULT_PARSE_OPTIONS, ...opts };
  try {
    const v = parseJson(text, o);
    if (!isObject(v) || v.lastUpdateId === undefined) throw new Reject("unknown_shape", "not a depth snapshot");
    const bids = levels(v.bids, "bids");
    const asks = levels(v.asks, "asks");
    checkNotCrossed(bids, asks, "snapshot");
    const snap: DepthSnapshot = { lastUpdateId: id(v.lastUpdateId, "lastUpdateId"), bids, asks };
    if (v.E !== undefined) snap.eventTimeMs = time(v.E, "E");
    if (v.T !== undefined) snap.transactionTimeMs = time(v.T, "T");
    return { ok: true, value: snap };
  } catch (e) {
    if (e instanceof Reject) return fail(e.reason, e.message);
    throw e;
  }
}
