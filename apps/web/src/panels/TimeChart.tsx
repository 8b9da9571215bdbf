"use client";
// A small SVG time-series chart: a real time axis (HH:MM:SS UTC) over a stated window, a
// left and optional right value axis with fixed-precision ticks, lines or a stacked area.
import { useWidth } from "../store/useStore";
import { utcTime } from "../lib/format";

export interface ChartSeries {
  label: string;
  colour: string;
  points: { t: number; v: number }[];
  axis?: "left" | "right";
  dash?: string;
}

export interface TimeChartProps {
  title: string;
  series: ChartSeries[];
  endMs: number;
  windowMs: number;
  height?: number;
  /** Fixed domain, else from the data. */
  domain?: [number, number];
  format: (v: number) => string;
  /** Smallest tick step of the left axis (e.g. the price tick), so ticks never repeat a label. */
  minStep?: number;
  rightFormat?: (v: number) => string;
  /** Stack the series (in the given order, first at the bottom) as filled areas. */
  stacked?: boolean;
  testId?: string;
  /** Time axis labels (HH:MM:SS UTC by default). */
  timeFormat?: (ms: number) => string;
  /** Vertical lines at given times (e.g. a handover, a cursor), labelled at the top. */
  markers?: { t: number; label: string; colour: string; testId?: string }[];
}

const PAD = { left: 64, right: 64, top: 8, bottom: 22 };
const AXIS = "#8b949e";
const GRID = "#21262d";

function niceTicks(min: number, max: number, count: number, minStep = 0): number[] {
  if (!(max > min)) return [min];
  const raw = Math.max(minStep, (max - min) / count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(v);
  return out;
}

function extent(series: ChartSeries[], stacked: boolean): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  if (stacked) {
    const sums = new Map<number, number>();
    for (const s of series) for (const p of s.points) sums.set(p.t, (sums.get(p.t) ?? 0) + p.v);
    lo = 0;
    for (const v of sums.values()) hi = Math.max(hi, v);
  } else
    for (const s of series)
      for (const p of s.points) {
        lo = Math.min(lo, p.v);
        hi = Math.max(hi, p.v);
      }
  if (!Number.isFinite(lo)) return [0, 1];
  if (lo === hi) return [lo - Math.abs(lo || 1) * 0.01, hi + Math.abs(hi || 1) * 0.01];
  const pad = (hi - lo) * 0.08;
  return [stacked ? 0 : lo - pad, hi + pad];
}

export function TimeChart(p: TimeChartProps) {
  const [ref, width] = useWidth<HTMLDivElement>(480);
  const height = p.height ?? 120;
  const hasRight = p.series.some((s) => s.axis === "right");
  const pad = { ...PAD, right: hasRight ? PAD.right : 12 };
  const w = Math.max(120, width);
  const plotW = w - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const startMs = p.endMs - p.windowMs;
  const x = (t: number) => pad.left + ((t - startMs) / p.windowMs) * plotW;
  const left = p.series.filter((s) => s.axis !== "right");
  const right = p.series.filter((s) => s.axis === "right");
  const [l0, l1] = p.domain ?? extent(left, !!p.stacked);
  const [r0, r1] = extent(right, false);
  const yl = (v: number) => pad.top + (1 - (v - l0) / (l1 - l0)) * plotH;
  const yr = (v: number) => pad.top + (1 - (v - r0) / (r1 - r0)) * plotH;
  const timeTicks: number[] = [];
  const tickEvery = p.windowMs / (w < 420 ? 3 : 6);
  for (let t = Math.ceil(startMs / tickEvery) * tickEvery; t <= p.endMs; t += tickEvery) timeTicks.push(t);
  const inWindow = (pts: { t: number; v: number }[]) => pts.filter((q) => q.t >= startMs && q.t <= p.endMs);
  const path = (pts: { t: number; v: number }[], y: (v: number) => string | number) =>
    pts.map((q, i) => `${i ? "L" : "M"}${x(q.t).toFixed(1)},${y(q.v)}`).join("");

  let stackedPaths: { s: ChartSeries; d: string }[] = [];
  if (p.stacked) {
    const times = [...new Set(left.flatMap((s) => inWindow(s.points).map((q) => q.t)))].sort((a, b) => a - b);
    const base = new Map(times.map((t) => [t, 0]));
    stackedPaths = left.map((s) => {
      const byT = new Map(s.points.map((q) => [q.t, q.v]));
      const lower = times.map((t) => ({ t, v: base.get(t)! }));
      const upper = times.map((t) => ({ t, v: base.get(t)! + (byT.get(t) ?? 0) }));
      for (const u of upper) base.set(u.t, u.v);
      const top = path(upper, (v) => yl(v).toFixed(1));
      const bottom = lower
        .reverse()
        .map((q) => `L${x(q.t).toFixed(1)},${yl(q.v).toFixed(1)}`)
        .join("");
      return { s, d: times.length ? `${top}${bottom}Z` : "" };
    });
  }

  return (
    <div ref={ref} className="chart" data-testid={p.testId}>
      <svg width={w} height={height} role="img" aria-label={p.title}>
        {niceTicks(l0, l1, 4, p.minStep).map((v) => (
          <g key={`l${v}`}>
            <line x1={pad.left} x2={w - pad.right} y1={yl(v)} y2={yl(v)} stroke={GRID} />
            <text x={pad.left - 4} y={yl(v) + 3} fill={AXIS} fontSize={10} textAnchor="end">
              {p.format(v)}
            </text>
          </g>
        ))}
        {hasRight &&
          niceTicks(r0, r1, 4).map((v) => (
            <text key={`r${v}`} x={w - pad.right + 4} y={yr(v) + 3} fill={AXIS} fontSize={10}>
              {(p.rightFormat ?? p.format)(v)}
            </text>
          ))}
        {timeTicks.map((t) => (
          <text key={t} x={x(t)} y={height - 6} fill={AXIS} fontSize={10} textAnchor="middle">
            {(p.timeFormat ?? utcTime)(t)}
          </text>
        ))}
        {p.stacked
          ? stackedPaths.map(({ s, d }) => (
              <path key={s.label} d={d} fill={s.colour} fillOpacity={0.75} stroke={s.colour} />
            ))
          : p.series.map((s) => (
              <path
                key={s.label}
                d={path(inWindow(s.points), (v) => (s.axis === "right" ? yr(v) : yl(v)).toFixed(1))}
                fill="none"
                stroke={s.colour}
                strokeWidth={1.5}
                strokeDasharray={s.dash}
              />
            ))}
        {p.markers
          ?.filter((m) => m.t >= startMs && m.t <= p.endMs)
          .map((m) => (
            <g key={m.label} data-testid={m.testId} data-t={m.t}>
              <line x1={x(m.t)} x2={x(m.t)} y1={pad.top} y2={pad.top + plotH} stroke={m.colour} strokeDasharray="3 2" />
              <text x={x(m.t) + 3} y={pad.top + 9} fill={m.colour} fontSize={10}>
                {m.label}
              </text>
            </g>
          ))}
      </svg>
    </div>
  );
}

/** Legend in the series' order; for a stack, say it runs bottom to top. */
export function Legend({ series, note }: { series: ChartSeries[]; note?: string }) {
  return (
    <ul className="legend">
      {series.map((s) => (
        <li key={s.label}>
          <span className="swatch" style={{ background: s.colour }} aria-hidden="true" />
          {s.label}
          {s.axis === "right" ? " (right axis)" : ""}
        </li>
      ))}
      {note && <li className="muted">{note}</li>}
    </ul>
  );
}
