// The parser's strict field checks: decimals, ids, times, levels, an uncrossed book. A bad field throws a
// Reject naming the field; parse.ts turns it into a ParseResult.
import type { Level, RejectReason, ParseResult } from "./frame-types.js";

export class Reject extends Error {
  constructor(
    readonly reason: RejectReason,
    detail: string,
  ) {
    super(detail);
  }
}

export const fail = <T>(reason: RejectReason, detail: string): ParseResult<T> => ({ ok: false, reason, detail });

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

export function decimal(v: unknown, what: string): number {
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

export function id(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new Reject("unknown_shape", `${what}: expected an integer`);
  // JSON.parse rounds integers above 2^53 silently: refuse anything not exactly representable.
  if (!Number.isSafeInteger(v)) throw new Reject("id_out_of_range", `${what}: ${v} exceeds 2^53 - 1`);
  if (v < 0) throw new Reject("negative", `${what}: ${v}`);
  return v;
}

export function time(v: unknown, what: string): number {
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new Reject("unknown_shape", `${what}: bad time`);
  return v;
}

export function levels(v: unknown, what: string): Level[] {
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

export function checkNotCrossed(bids: Level[], asks: Level[], what: string): void {
  // Best bid and ask of a full book view: bids arrive best-first but be robust to order.
  let bb = -Infinity;
  for (const [p, q] of bids) if (q > 0 && p > bb) bb = p;
  let ba = Infinity;
  for (const [p, q] of asks) if (q > 0 && p < ba) ba = p;
  if (bb >= ba) throw new Reject("crossed", `${what}: best bid ${bb} >= best ask ${ba}`);
}
