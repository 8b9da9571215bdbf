// Binance market-data frames -> typed values. Validation is strict because everything
// downstream trusts these numbers: a bad frame is rejected with a reason, never coerced.

export type Level = [price: number, quantity: number];

export interface DepthDiff {
  kind: "depthUpdate";
  stream: string;
  symbol: string;
  eventTimeMs: number;
  transactionTimeMs?: number;
  firstUpdateId: number;
  finalUpdateId: number;
  /** USD-M futures `pu`: the previous event's `u`. */
  prevFinalUpdateId?: number;
  bids: Level[];
  asks: Level[];
}

export interface PartialDepth {
  kind: "partialDepth";
  stream: string;
  /** From the stream name: spot partial depth carries no symbol. */
  symbol: string;
  lastUpdateId: number;
  bids: Level[];
  asks: Level[];
}

export interface BookTicker {
  kind: "bookTicker";
  stream: string;
  symbol: string;
  updateId: number;
  bidPrice: number;
  bidQty: number;
  askPrice: number;
  askQty: number;
}

export interface Trade {
  kind: "trade";
  stream: string;
  symbol: string;
  tradeId: number;
  price: number;
  qty: number;
  tradeTimeMs: number;
  buyerIsMaker: boolean;
}

export interface ServerShutdown {
  kind: "serverShutdown";
  eventTimeMs: number;
}

export interface ControlReply {
  kind: "controlReply";
  id: number | string | null;
  result?: unknown;
  error?: { code: number; msg: string };
}

export type StreamFrame =
  DepthDiff | PartialDepth | BookTicker | Trade | ServerShutdown | ControlReply | { kind: "ignored"; stream: string };

export type RejectReason =
  | "malformed_json"
  | "oversize"
  | "empty"
  | "unknown_shape"
  | "bad_number"
  | "negative"
  | "non_finite"
  | "id_out_of_range"
  | "first_after_final"
  | "bad_level"
  | "crossed";

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: RejectReason; detail: string };

export interface ParseOptions {
  /** Frames above this size are rejected before JSON.parse touches them. */
  maxFrameBytes: number;
}

export const DEFAULT_PARSE_OPTIONS: Readonly<ParseOptions> = Object.freeze({ maxFrameBytes: 1 << 20 });

export interface DepthSnapshot {
  lastUpdateId: number;
  bids: Level[];
  asks: Level[];
  eventTimeMs?: number;
  transactionTimeMs?: number;
}

class Reject extends Error {
  constructor(
    readonly reason: RejectReason,
    detail: string,
  ) {
    super(detail);
  }
}

const fail = <T>(reason: RejectReason, detail: string): ParseResult<T> => ({ ok: false, reason, detail });

/**
 * A plain decimal string: digits with at most one '.', no sign, exponent, hex, spaces or
 * "NaN". A hand-written scan is several times faster than a regex on this hot path.
 */
function checkDecimal(s: string): RejectReason | undefined {
  const n = s.length;
  if (n === 0) return "bad_number";
  let dot = false;
  let digits = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !dot) dot = true;
    else if (c === 45 && i === 0) return "negative";
    else return "bad_number";
  }
  if (digits === 0) return "bad_number";
  // "1" followed by 400 zeros is a plain decimal but not a finite double.
  if (n > 300) return "non_finite";
  return undefined;
}

function decimal(v: unknown, what: string): number {
  if (typeof v !== "string") throw new Reject("bad_number", `${what}: expected a decimal string, got ${typeof v}`);
  const bad = checkDecimal(v);
  if (bad) throw new Reject(bad, `${what}: ${JSON.stringify(v.slice(0, 40))}`);
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Reject("non_finite", `${what}: ${JSON.stringify(v.slice(0, 40))}`);
  return n;
}

/** Strict decimal string -> number (prices and quantities; Binance sends them as strings). */
export function parseDecimal(s: unknown): ParseResult<number> {
  try {
    return { ok: true, value: decimal(s, "value") };
  } catch (e) {
    if (e instanceof Reject) return fail(e.reason, e.message);
    throw e;
  }
}

function id(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new Reject("unknown_shape", `${what}: expected an integer`);
  // JSON.parse rounds integers above 2^53 silently: refuse anything not exactly representable.
  if (!Number.isSafeInteger(v)) throw new Reject("id_out_of_range", `${what}: ${v} exceeds 2^53 - 1`);
  if (v < 0) throw new Reject("negative", `${what}: ${v}`);
  return v;
}

function time(v: unknown, what: string): number {
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new Reject("unknown_shape", `${what}: bad time`);
  return v;
}

function levels(v: unknown, what: string): Level[] {
  if (!Array.isArray(v)) throw new Reject("unknown_shape", `${what}: expected an array`);
  const out: Level[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const l = v[i];
    if (!Array.isArray(l) || l.length < 2) throw new Reject("bad_level", `${what}[${i}]: expected [price, qty]`);
    const price = decimal(l[0], `${what}[${i}].price`);
    if (price <= 0) throw new Reject("bad_level", `${what}[${i}]: price must be > 0`);
    out[i] = [price, decimal(l[1], `${what}[${i}].qty`)];
  }
  return out;
}

function checkNotCrossed(bids: Level[], asks: Level[], what: string): void {
  // Best bid and ask of a full book view: bids arrive best-first but be robust to order.
  let bb = -Infinity;
  for (const [p, q] of bids) if (q > 0 && p > bb) bb = p;
  let ba = Infinity;
  for (const [p, q] of asks) if (q > 0 && p < ba) ba = p;
  if (bb >= ba) throw new Reject("crossed", `${what}: best bid ${bb} >= best ask ${ba}`);
}

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
