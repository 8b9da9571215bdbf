// A colour-blind-safe diverging scale for OBI in [-1, 1]: orange (sell pressure) through a dark
// neutral to blue (buy pressure). Blue and orange stay apart under deuteranopia, protanopia and
// tritanopia (the end points are ColorBrewer PuOr/RdBu-style hues, lightness rising with |OBI|),
// unlike red/green. "No data" is not a colour of the scale: it is drawn as a hatch pattern.

type Rgb = readonly [number, number, number];

// Stops from -1 to +1, evenly spaced. Lightness grows with |v| on the dark page background.
const STOPS: readonly Rgb[] = [
  [253, 174, 97], // -1   light orange
  [224, 130, 20], // -0.5 orange
  [60, 62, 68], //    0   neutral grey-blue, darker than both ends
  [67, 147, 195], // 0.5  blue
  [146, 197, 222], // 1   light blue
];

function interpolate(v: number): Rgb {
  const x = ((Math.max(-1, Math.min(1, v)) + 1) / 2) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i]!;
  const b = STOPS[i + 1]!;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

const LUT_SIZE = 201;
const LUT: string[] = Array.from({ length: LUT_SIZE }, (_, i) => {
  const [r, g, b] = interpolate((i / (LUT_SIZE - 1)) * 2 - 1);
  return `rgb(${Math.round(r)},${Math.round(g)},${Math.round(b)})`;
});

/** CSS colour of an OBI value (quantised to 0.01). */
export function obiColour(v: number): string {
  const i = Math.round(((Math.max(-1, Math.min(1, v)) + 1) / 2) * (LUT_SIZE - 1));
  return LUT[i]!;
}

/** The scale's RGB at v, for tests (e.g. the deuteranopia check). */
export function obiRgb(v: number): Rgb {
  return interpolate(v);
}

export const NO_DATA_BACKGROUND = "#161b22";
export const NO_DATA_STRIPE = "#484f58";
export const STALE_STRIPE = "rgba(13,17,23,0.55)";

/** Diagonal hatch: `no data` (grey stripes on the page colour) or `stale` (dark stripes over colour). */
const patterns = new WeakMap<CanvasRenderingContext2D, Record<string, CanvasPattern | string>>();

export function hatch(ctx: CanvasRenderingContext2D, kind: "nodata" | "stale"): CanvasPattern | string {
  let cache = patterns.get(ctx);
  if (!cache) patterns.set(ctx, (cache = {}));
  return (cache[kind] ??= makeHatch(ctx, kind));
}

function makeHatch(ctx: CanvasRenderingContext2D, kind: "nodata" | "stale"): CanvasPattern | string {
  const c = document.createElement("canvas");
  c.width = c.height = 6;
  const p = c.getContext("2d");
  if (!p) return NO_DATA_BACKGROUND;
  if (kind === "nodata") {
    p.fillStyle = NO_DATA_BACKGROUND;
    p.fillRect(0, 0, 6, 6);
  }
  p.strokeStyle = kind === "nodata" ? NO_DATA_STRIPE : STALE_STRIPE;
  p.lineWidth = kind === "nodata" ? 1 : 2;
  p.beginPath();
  p.moveTo(0, 6);
  p.lineTo(6, 0);
  p.moveTo(-1, 1);
  p.lineTo(1, -1);
  p.moveTo(5, 7);
  p.lineTo(7, 5);
  p.stroke();
  return ctx.createPattern(c, "repeat") ?? NO_DATA_BACKGROUND;
}

/** CSS for the same two hatches (scale bar, legend swatches, table cells). */
export const NO_DATA_CSS = `repeating-linear-gradient(135deg, ${NO_DATA_BACKGROUND} 0 3px, ${NO_DATA_STRIPE} 3px 4px)`;
export const STALE_CSS = `repeating-linear-gradient(135deg, transparent 0 3px, ${STALE_STRIPE} 3px 5px)`;
