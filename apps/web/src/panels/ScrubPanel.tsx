"use client";
// History scrub (time travel): pick a symbol and a window, replay its recent history as fast as the
// browser reads, then follow it live; OBI and mid over time with the handover marked, and a
// scrubber showing the values at the scrubbed time. The stream and its store live outside React.
import { useEffect, useRef, useState } from "react";
import type { Transport } from "@connectrpc/connect";
import { fixed, utcTime } from "../lib/format";
import type { PipelineStore } from "../store/pipelineStore";
import { startScrub } from "../store/scrubFeed";
import { SCRUB_WINDOWS_MIN, ScrubStore } from "../store/scrubStore";
import { useTopic } from "../store/useStore";
import { Legend, TimeChart, type ChartSeries } from "./TimeChart";

const HANDOVER_COLOUR = "#3fb950";
const CURSOR_COLOUR = "#e6edf3";
const utcMs = (ms: number) => new Date(ms).toISOString().slice(11, 23);
/** Tenths of a second on the axis when the history spans under a minute (whole seconds would repeat). */
const axisFormat = (spanMs: number) => (spanMs < 60_000 ? (ms: number) => utcMs(ms).slice(0, 10) : utcTime);

export function ScrubPanel(props: { store: PipelineStore; transport: Transport; selected: string | undefined }) {
  const { store, transport, selected } = props;
  const [scrub] = useState(() => new ScrubStore());
  const stop = useRef<(() => void) | undefined>(undefined);
  useEffect(
    () => () => {
      stop.current?.();
      scrub.close();
    },
    [scrub],
  );
  useTopic(scrub, "charts");
  useTopic(scrub, "status");
  useTopic(store, "charts"); // the symbol list
  const [picked, setPicked] = useState("");
  const [windowMin, setWindowMin] = useState<number>(5);
  /** The scrubbed time; undefined = follow the newest point. */
  const [cursor, setCursor] = useState<number | undefined>();
  const names = store.names();
  const symbol = picked || selected || names[0] || "";

  const open = () => {
    stop.current?.();
    setCursor(undefined);
    if (symbol) stop.current = startScrub(scrub, transport, symbol, windowMin);
  };
  const close = () => {
    stop.current?.();
    stop.current = undefined;
    setCursor(undefined);
    scrub.clear();
  };

  const series = scrub.series;
  const span = series?.span();
  const edges = series?.edges() ?? {};
  const endMs = span ? Math.max(span[1], scrub.startMs + 1_000) : scrub.startMs + 1_000;
  const at = cursor === undefined ? endMs : Math.min(Math.max(cursor, span?.[0] ?? 0), endMs);
  const point = series?.at(at);
  const markers = [
    ...(scrub.handoverMs !== undefined
      ? [{ t: scrub.handoverMs, label: "handover", colour: HANDOVER_COLOUR, testId: "scrub-handover" }]
      : []),
    ...(point ? [{ t: point.t, label: "", colour: CURSOR_COLOUR, testId: "scrub-cursor" }] : []),
  ];
  const obi: ChartSeries[] = series
    ? [
        { label: "OBI 20", colour: "#58a6ff", points: series.points("obi20") },
        { label: "OBI 5", colour: "#f0883e", points: series.points("obi5"), dash: "4 3" },
      ]
    : [];
  const mid: ChartSeries[] = series ? [{ label: "mid", colour: "#d2a8ff", points: series.points("mid") }] : [];
  const d = scrub.priceDecimals;
  const status =
    scrub.phase === "idle"
      ? "Pick a symbol and a window, then open its history."
      : scrub.phase === "replaying"
        ? `${scrub.symbol}: replaying from ${utcTime(scrub.startMs)} UTC… ${series?.historyUpdates ?? 0} updates`
        : scrub.phase === "live"
          ? `${scrub.symbol}: ${series?.historyUpdates ?? 0} updates replayed, live since the handover at ${utcTime(scrub.handoverMs ?? 0)} UTC (${series?.liveUpdates ?? 0} live)`
          : `${scrub.symbol}: ended (${scrub.error})`;

  return (
    <section
      className="panel"
      aria-labelledby="scrub-title"
      data-testid="scrub"
      data-phase={scrub.phase}
      data-history-points={series?.points("obi20", "history").length ?? 0}
      data-live-points={series?.points("obi20", "live").length ?? 0}
      data-last-history-ms={edges.lastHistoryMs}
      data-first-live-ms={edges.firstLiveMs}
      data-handover-ms={scrub.handoverMs}
    >
      <div className="panel-head">
        <h2 id="scrub-title">History scrub</h2>
        <span className="age">time travel, UTC</span>
      </div>
      <div className="scrub-controls">
        <label>
          Symbol{" "}
          <select value={symbol} onChange={(e) => setPicked(e.target.value)} data-testid="scrub-symbol">
            {names.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <label>
          Last{" "}
          <select value={windowMin} onChange={(e) => setWindowMin(Number(e.target.value))} data-testid="scrub-window">
            {SCRUB_WINDOWS_MIN.map((m) => (
              <option key={m} value={m}>
                {m} min
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={open} disabled={!symbol} data-testid="scrub-open">
          Open history
        </button>
        {scrub.phase !== "idle" && (
          <button type="button" onClick={close} data-testid="scrub-close">
            Close
          </button>
        )}
      </div>
      <p role="status" className="muted" data-testid="scrub-status">
        {status}
        {scrub.note && <span data-testid="scrub-note"> · {scrub.note}</span>}
      </p>
      {series && span && (
        <>
          <TimeChart
            title={`${scrub.symbol} OBI since ${utcTime(scrub.startMs)} UTC`}
            series={obi}
            endMs={endMs}
            windowMs={endMs - scrub.startMs}
            domain={[-1, 1]}
            format={(v) => fixed(v, 1)}
            timeFormat={axisFormat(endMs - scrub.startMs)}
            markers={markers}
            testId="scrub-chart"
          />
          <Legend series={obi} note="dashed green line: handover (history before, live after)" />
          <TimeChart
            title={`${scrub.symbol} mid price since ${utcTime(scrub.startMs)} UTC`}
            series={mid}
            endMs={endMs}
            windowMs={endMs - scrub.startMs}
            height={90}
            format={(v) => fixed(v, d)}
            minStep={10 ** -d}
            timeFormat={axisFormat(endMs - scrub.startMs)}
            markers={markers}
          />
          <input
            type="range"
            className="scrubber"
            aria-label="Scrubbed time"
            aria-valuetext={point ? `${utcMs(point.t)} UTC` : "no data"}
            min={span[0]}
            max={endMs}
            step={1}
            value={at}
            onChange={(e) => {
              const v = Number(e.target.value);
              setCursor(v >= endMs ? undefined : v);
            }}
            data-testid="scrubber"
          />
          {point && (
            <dl className="scrub-readout" data-testid="scrub-readout" data-kind={point.live ? "live" : "history"}>
              <dt>at</dt>
              <dd>
                {utcMs(point.t)} UTC ({point.live ? "live" : "history"}
                {cursor === undefined ? ", following" : ""})
              </dd>
              <dt>OBI 20</dt>
              <dd data-testid="scrub-obi20">{fixed(point.values[0], 3)}</dd>
              <dt>OBI 5</dt>
              <dd>{fixed(point.values[1], 3)}</dd>
              <dt>mid</dt>
              <dd>{fixed(point.values[2], d + 1)}</dd>
            </dl>
          )}
        </>
      )}
    </section>
  );
}
