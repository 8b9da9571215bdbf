"use client";
// Latency: the headline is real end-to-end percentiles (the gateway's own ingest -> gateway
// window from the control plane, and gateway -> browser measured in this page), then each hop's
// p50 stacked over time in pipeline order, with a p50/p99 table.
import { age, ms, NONE, utcTime } from "../lib/format";
import { HISTORY_SECONDS } from "../lib/history";
import { BROWSER_LAYER, GATEWAY_E2E_LAYER, HOP_LAYERS, type PipelineStore } from "../store/pipelineStore";
import { useTopic } from "../store/useStore";
import { ScrollRegion } from "./ScrollRegion";
import { Legend, TimeChart, type ChartSeries } from "./TimeChart";

const LAYERS = [...HOP_LAYERS, BROWSER_LAYER] as const;
const COLOURS = ["#6e7681", "#58a6ff", "#e3b341", "#bc8cff", "#3fb950", "#f0883e"];

export function LatencyPanel({ store }: { store: PipelineStore }) {
  const { nowMs } = useTopic(store, "charts");
  const h = store.health;
  const byLayer = new Map(h?.latency.filter((l) => l.count > 0n).map((l) => [l.layer, l]) ?? []);
  const e2e = byLayer.get(GATEWAY_E2E_LAYER);
  const browser = store.browserLatency.percentiles(nowMs);
  const history = store.latencyHistory.toArray();
  const series: ChartSeries[] = LAYERS.map((layer, i) => ({
    label: layer,
    colour: COLOURS[i]!,
    points: history.flatMap((p) => (p.p50[layer] === undefined ? [] : [{ t: p.tMs, v: p.p50[layer]! }])),
  }));
  const rows = LAYERS.map((layer) => {
    if (layer === BROWSER_LAYER) return { layer, p50: browser?.p50, p99: browser?.p99, count: browser?.count };
    const l = byLayer.get(layer);
    return { layer, p50: l?.p50Ms, p99: l?.p99Ms, count: l ? Number(l.count) : undefined };
  });
  const endMs = history.at(-1)?.tMs ?? nowMs;
  return (
    <section className="panel" aria-labelledby="latency-title" data-testid="latency">
      <div className="panel-head">
        <h2 id="latency-title">Latency, last {HISTORY_SECONDS} s</h2>
        <span className="age">
          {h
            ? `gateway figures ${age(nowMs, store.healthAtMs)} old (at ${utcTime(h.serverTimeUs / 1000)} UTC)`
            : store.healthError || "no figures yet"}
        </span>
      </div>
      <dl className="headline" data-testid="latency-headline">
        <div>
          <dt>End to end, ingest → gateway (gateway&apos;s window)</dt>
          <dd data-testid="e2e" data-p50={e2e?.p50Ms ?? ""} data-p99={e2e?.p99Ms ?? ""}>
            p50 <b className="num">{ms(e2e?.p50Ms)}</b> ms · p99 <b className="num">{ms(e2e?.p99Ms)}</b> ms
          </dd>
        </div>
        <div>
          <dt>Gateway → this browser (measured in the page)</dt>
          <dd data-testid="browser-latency">
            p50 <b className="num">{ms(browser?.p50)}</b> ms · p99 <b className="num">{ms(browser?.p99)}</b> ms
          </dd>
        </div>
      </dl>
      <h3>Per-hop p50, stacked in pipeline order (not an end-to-end percentile)</h3>
      <TimeChart
        title="Per-hop p50 latency stacked over time"
        series={series}
        endMs={endMs}
        windowMs={HISTORY_SECONDS * 1000}
        height={160}
        stacked
        format={(v) => `${ms(v)} ms`}
      />
      <Legend series={series} note="first = bottom of the stack" />
      <ScrollRegion label="Latency per hop">
        <table className="numeric" data-testid="latency-table">
          <caption className="sr-only">p50 and p99 per hop over the last {HISTORY_SECONDS} s</caption>
          <thead>
            <tr>
              <th scope="col">hop (pipeline order)</th>
              <th scope="col">p50 ms</th>
              <th scope="col">p99 ms</th>
              <th scope="col">samples</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr
                key={r.layer}
                data-testid="latency-row"
                data-layer={r.layer}
                data-has-data={r.p50 !== undefined ? "true" : "false"}
              >
                <th scope="row">{r.layer === BROWSER_LAYER ? `${r.layer} (this page)` : r.layer}</th>
                <td>{ms(r.p50)}</td>
                <td>{ms(r.p99)}</td>
                <td>{r.count ?? NONE}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
    </section>
  );
}
