"use client";
// OBI heatmap: one canvas for all symbols x 60 seconds, redrawn on the heatmap topic's budget
// (~3 Hz), with one shared hover tooltip. Symbol names and current values are pinned columns
// beside the scrolling canvas. Every redraw bumps window.__qcRedraws (read by the browser test).
import { useEffect, useRef } from "react";
import { hatch, obiColour } from "../lib/colour";
import { age, fixed, utcTime } from "../lib/format";
import { HISTORY_SECONDS, type Series } from "../lib/history";
import type { PipelineStore, SymbolView } from "../store/pipelineStore";
import { useTopic, useWidth } from "../store/useStore";
import { ScaleBar } from "./ScaleBar";
import { ScrollRegion } from "./ScrollRegion";

export type Depth = Extract<Series, "obi1" | "obi5" | "obi10" | "obi20"> | "all";
export const ROW_PX = 22;
const AXIS_PX = 20;
const MIN_CELL_PX = 8;

declare global {
  interface Window {
    __qcRedraws?: number;
  }
}

/** The value shown for a symbol now: its latest OBI at the chosen depth (mean of four for "all"). */
export function currentObi(s: SymbolView, depth: Depth): number | undefined {
  const sig = s.latest.signals;
  if (!sig) return undefined;
  if (depth !== "all") return sig[depth];
  const xs = [sig.obi1, sig.obi5, sig.obi10, sig.obi20].filter((v): v is number => v !== undefined);
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
}

function draw(
  canvas: HTMLCanvasElement,
  store: PipelineStore,
  names: string[],
  depth: Depth,
  selected: string | undefined,
  cellPx: number,
) {
  const dpr = window.devicePixelRatio || 1;
  const w = HISTORY_SECONDS * cellPx;
  const h = names.length * ROW_PX + AXIS_PX;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const noData = hatch(ctx, "nodata");
  const stale = hatch(ctx, "stale");
  const nowMs = Date.now();
  const nowSec = Math.floor(nowMs / 1000);
  names.forEach((name, r) => {
    const s = store.symbols.get(name)!;
    const y = r * ROW_PX;
    for (let c = 0; c < HISTORY_SECONDS; c++) {
      const v = store.obiAt(s, nowSec - HISTORY_SECONDS + 1 + c, depth);
      ctx.fillStyle = Number.isNaN(v) ? noData : obiColour(v);
      ctx.fillRect(c * cellPx, y, cellPx - 1, ROW_PX - 2);
    }
    if (store.staleReason(s, nowMs)) {
      ctx.fillStyle = stale;
      ctx.fillRect(0, y, w, ROW_PX - 2);
    }
    if (name === selected) {
      ctx.strokeStyle = "#f0f6fc";
      ctx.lineWidth = 2;
      ctx.strokeRect(1, y + 1, w - 2, ROW_PX - 4);
    }
  });
  ctx.fillStyle = "#8b949e";
  ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "center";
  const axisY = names.length * ROW_PX + 13;
  for (let c = 0; c < HISTORY_SECONDS; c++) {
    const sec = nowSec - HISTORY_SECONDS + 1 + c;
    if (sec % 15 === 0) {
      ctx.fillRect(c * cellPx + cellPx / 2, names.length * ROW_PX, 1, 3);
      const x = Math.min(w - 24, Math.max(24, c * cellPx + cellPx / 2));
      ctx.fillText(utcTime(sec * 1000), x, axisY);
    }
  }
  window.__qcRedraws = (window.__qcRedraws ?? 0) + 1;
}

export function Heatmap(props: {
  store: PipelineStore;
  depth: Depth;
  selected: string | undefined;
  onSelect: (symbol: string) => void;
}) {
  const { store, depth, selected, onSelect } = props;
  const { version, nowMs } = useTopic(store, "heatmap");
  const canvas = useRef<HTMLCanvasElement>(null);
  const tip = useRef<HTMLDivElement>(null);
  const [scrollRef, scrollWidth] = useWidth<HTMLDivElement>(600);
  const cellPx = Math.max(MIN_CELL_PX, Math.floor(scrollWidth / HISTORY_SECONDS));
  const names = store.names();

  useEffect(() => {
    if (canvas.current) draw(canvas.current, store, names, depth, selected, cellPx);
  }, [version, store, names, depth, selected, cellPx]);

  // One shared tooltip, written directly (no React render per mouse move). Mouse only: the same
  // values are text in the pinned columns and the table view.
  const hoverState = useRef({ names, depth, cellPx });
  useEffect(() => {
    hoverState.current = { names, depth, cellPx };
  }, [names, depth, cellPx]);
  useEffect(() => {
    const box = scrollRef.current;
    if (!box) return;
    const move = (e: MouseEvent) => {
      const el = tip.current;
      if (!el || !canvas.current) return;
      const { names, depth, cellPx } = hoverState.current;
      const rect = canvas.current.getBoundingClientRect();
      const col = Math.floor((e.clientX - rect.left) / cellPx);
      const s = store.symbols.get(names[Math.floor((e.clientY - rect.top) / ROW_PX)] ?? "");
      if (!s || col < 0 || col >= HISTORY_SECONDS) {
        el.hidden = true;
        return;
      }
      const sec = Math.floor(Date.now() / 1000) - HISTORY_SECONDS + 1 + col;
      const v = store.obiAt(s, sec, depth);
      const reason = store.staleReason(s);
      el.textContent = `${s.symbol} ${utcTime(sec * 1000)} UTC · OBI ${depth === "all" ? "mean" : depth.slice(3)}: ${
        Number.isNaN(v) ? "no data" : fixed(v, 3)
      }${reason ? ` · stale: ${reason}` : ""}`;
      el.hidden = false;
      const b = box.getBoundingClientRect();
      el.style.left = `${Math.max(0, Math.min(e.clientX - b.left + box.scrollLeft + 12, box.scrollWidth - el.offsetWidth))}px`;
      el.style.top = `${e.clientY - b.top + 14}px`;
    };
    const leave = () => tip.current && (tip.current.hidden = true);
    box.addEventListener("mousemove", move);
    box.addEventListener("mouseleave", leave);
    return () => {
      box.removeEventListener("mousemove", move);
      box.removeEventListener("mouseleave", leave);
    };
  }, [store, scrollRef]);

  return (
    <section className="panel heatmap-panel" aria-labelledby="heatmap-title">
      <div className="panel-head">
        <h2 id="heatmap-title">
          Order book imbalance, last {HISTORY_SECONDS} s <span className="muted">(1 column = 1 s, UTC)</span>
        </h2>
        <span className="age" data-testid="heatmap-age">
          newest data {age(nowMs, store.lastDataAtMs)} old · {names.length} symbols
        </span>
      </div>
      <ScaleBar />
      <div className="heatmap" data-testid="heatmap">
        <div className="hm-names">
          {names.map((name) => {
            const s = store.symbols.get(name)!;
            const reason = store.staleReason(s, nowMs);
            return (
              <div
                key={name}
                className={`hm-name${name === selected ? " selected" : ""}`}
                data-testid="heatmap-row"
                data-symbol={name}
                data-stale={reason ? "true" : "false"}
                data-action={s.action?.phase ?? ""}
                style={{ height: ROW_PX }}
              >
                <button type="button" onClick={() => onSelect(name)} aria-pressed={name === selected}>
                  {name}
                </button>
                {reason && (
                  <span className="badge stale" title={reason} role="img" aria-label={`stale: ${reason}`}>
                    ⚠
                  </span>
                )}
                {s.action && s.action.phase !== "done" && (
                  <span className={`badge action ${s.action.phase}`} title={s.action.text}>
                    {s.action.phase === "failed" ? "✕" : "↻"}
                  </span>
                )}
              </div>
            );
          })}
          <div style={{ height: AXIS_PX }} />
        </div>
        <ScrollRegion className="hm-scroll" ref={scrollRef} label="OBI heatmap, last 60 seconds">
          <canvas ref={canvas} aria-hidden="true" />
          <div ref={tip} className="tooltip" hidden role="tooltip" />
        </ScrollRegion>
        <div className="hm-values">
          {names.map((name) => {
            const s = store.symbols.get(name)!;
            const reason = store.staleReason(s, nowMs);
            return (
              <span
                key={name}
                className={`num${reason ? " stale" : ""}`}
                data-testid="obi-value"
                data-symbol={name}
                style={{ height: ROW_PX }}
                title={reason ? `last known; ${reason}` : `data ${age(nowMs, s.dataAtMs)} old`}
              >
                {fixed(currentObi(s, depth), 3)}
              </span>
            );
          })}
          <div style={{ height: AXIS_PX }} />
        </div>
      </div>
    </section>
  );
}
