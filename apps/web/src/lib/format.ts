// Number and time formatting shared by the panels: fixed precision, never "-0.000", "—" for none.

export const NONE = "—";

/** Fixed decimals; a value that rounds to zero prints without a sign. */
export function fixed(v: number | undefined, decimals: number): string {
  if (v === undefined || !Number.isFinite(v)) return NONE;
  const s = v.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** Decimals needed to print a price exactly (its shortest decimal form; an exchange price is a multiple of its tick). */
export function priceDecimals(price: number | undefined): number {
  if (price === undefined || !Number.isFinite(price)) return 0;
  const [, frac = ""] = price.toFixed(10).replace(/0+$/, "").split(".");
  return Math.min(8, frac.length);
}

/** HH:MM:SS in UTC. */
export function utcTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** Age of a reading: "0.4 s", "12 s", "3 min"; "—" when never. */
export function age(nowMs: number, atMs: number | undefined): string {
  if (atMs === undefined) return NONE;
  const s = Math.max(0, nowMs - atMs) / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  return `${Math.round(s / 60)} min`;
}

/** Milliseconds for the latency panel: 2 decimals below 10 ms, 1 below 100, else whole. */
export function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return NONE;
  return fixed(v, v < 10 ? 2 : v < 100 ? 1 : 0);
}
