"use client";
// One symbol over the last 60 s on a real time axis (1 Hz): OBI, microprice at the symbol's
// price precision, spread and OFI each on their own axis.
import { age, fixed } from "../lib/format";
import { HISTORY_SECONDS } from "../lib/history";
import type { PipelineStore } from "../store/pipelineStore";
import { useTopic } from "../store/useStore";
import { Legend, TimeChart, type ChartSeries } from "./TimeChart";

const WINDOW_MS = HISTORY_SECONDS * 1000;

export function SymbolDetail({ store, symbol }: { store: PipelineStore; symbol: string | undefined }) {
  const { nowMs } = useTopic(store, "charts");
  const s = symbol ? store.symbols.get(symbol) : undefined;
  if (!s)
    return (
      <section className="panel" aria-labelledby="detail-title">
        <h2 id="detail-title">Symbol detail</h2>
        <p className="muted">Select a symbol in the heatmap.</p>
      </section>
    );
  const endMs = Math.floor(nowMs / 1000) * 1000 + 1000;
  const nowSec = Math.floor(nowMs / 1000);
  const pts = (k: Parameters<typeof s.history.points>[1]) => s.history.points(nowSec, k);
  const obi: ChartSeries[] = [
    { label: "OBI 20", colour: "#58a6ff", points: pts("obi20") },
    { label: "OBI 5", colour: "#f0883e", points: pts("obi5"), dash: "4 3" },
  ];
  const micro: ChartSeries[] = [{ label: "microprice", colour: "#d2a8ff", points: pts("micro") }];
  const spread: ChartSeries[] = [{ label: "spread (bps)", colour: "#e3b341", points: pts("spread") }];
  const ofi: ChartSeries[] = [{ label: "OFI 1 s (base units)", colour: "#56d4dd", points: pts("ofi1s") }];
  const reason = store.staleReason(s, nowMs);
  const d = s.priceDecimals;
  return (
    <section className="panel" aria-labelledby="detail-title" data-testid="symbol-detail">
      <div className="panel-head">
        <h2 id="detail-title">
          {s.symbol} <span className="muted">last {HISTORY_SECONDS} s, UTC</span>
        </h2>
        <span className="age">
          {reason ? `stale (${reason}) · ` : ""}data {age(nowMs, s.dataAtMs)} old
        </span>
      </div>
      <h3>Order book imbalance</h3>
      <TimeChart
        title={`${s.symbol} OBI`}
        series={obi}
        endMs={endMs}
        windowMs={WINDOW_MS}
        domain={[-1, 1]}
        format={(v) => fixed(v, 1)}
      />
      <Legend series={obi} />
      <h3>Microprice</h3>
      <TimeChart
        title={`${s.symbol} microprice`}
        series={micro}
        endMs={endMs}
        windowMs={WINDOW_MS}
        format={(v) => fixed(v, d)}
        minStep={10 ** -d}
      />
      <h3>Spread</h3>
      <TimeChart
        title={`${s.symbol} spread in basis points`}
        series={spread}
        endMs={endMs}
        windowMs={WINDOW_MS}
        height={90}
        format={(v) => fixed(v, 2)}
      />
      <h3>Order flow imbalance</h3>
      <TimeChart
        title={`${s.symbol} OFI over 1 s`}
        series={ofi}
        endMs={endMs}
        windowMs={WINDOW_MS}
        height={90}
        format={(v) => fixed(v, 2)}
      />
    </section>
  );
}
