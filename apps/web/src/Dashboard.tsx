"use client";
import { useMemo, useState } from "react";
import {
  Area,
  AreaChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { ConnectError } from "@connectrpc/connect";
import { DEPTHS, HISTORY_SECONDS, staleReason, usePipeline, type Depth, type SymbolState } from "./usePipeline";

const LAYER_ORDER = ["exchange -> ingest", "ingest", "kafka", "compute", "redis -> gateway", "gateway -> browser"];
const LAYER_COLORS = ["#8b949e", "#58a6ff", "#d29922", "#a371f7", "#3fb950", "#f778ba"];

/** Diverging scale centred on 0: sell pressure red, buy pressure green. */
function obiColor(v: number | undefined): string {
  if (v === undefined) return "#30363d";
  const a = Math.min(1, Math.abs(v));
  return v >= 0 ? `rgba(46, 160, 67, ${0.15 + 0.85 * a})` : `rgba(248, 81, 73, ${0.15 + 0.85 * a})`;
}

function obiAt(values: Record<string, number | undefined>, depth: Depth): number | undefined {
  if (depth !== "all") return values[depth];
  const xs = DEPTHS.map((d) => values[d]).filter((x): x is number => x !== undefined);
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
}

function Heatmap({
  symbols,
  depth,
  connected,
  onSelect,
}: {
  symbols: Map<string, SymbolState>;
  depth: Depth;
  connected: boolean;
  onSelect: (s: string) => void;
}) {
  const nowSec = Math.floor(Date.now() / 1000);
  const names = [...symbols.keys()].sort();
  return (
    <div
      data-testid="heatmap"
      style={{
        display: "grid",
        gridTemplateColumns: `110px repeat(${HISTORY_SECONDS}, 1fr) 70px`,
        gap: 1,
        fontSize: 12,
      }}
    >
      {names.map((name) => {
        const s = symbols.get(name)!;
        const reason = staleReason(s, connected, Date.now());
        const bySecond = new Map(s.history.map((h) => [h.second, h]));
        const current = obiAt(s.history.at(-1)?.values ?? {}, depth);
        return (
          <div
            key={name}
            style={{ display: "contents" }}
            data-testid="heatmap-row"
            data-symbol={name}
            data-stale={reason ? "true" : "false"}
          >
            <button
              onClick={() => onSelect(name)}
              style={{
                textAlign: "left",
                background: "none",
                border: 0,
                color: reason ? "#6e7681" : "#e6edf3",
                cursor: "pointer",
                padding: 0,
              }}
              title={reason ?? "live"}
            >
              {name}
              {reason ? " (stale)" : ""}
            </button>
            {Array.from({ length: HISTORY_SECONDS }, (_, i) => {
              const sec = nowSec - HISTORY_SECONDS + 1 + i;
              const v = bySecond.get(sec);
              const obi = v ? obiAt(v.values, depth) : undefined;
              return (
                <div
                  key={i}
                  title={`${name} ${new Date(sec * 1000).toISOString().slice(11, 19)} OBI(${depth}) = ${obi?.toFixed(4) ?? "no value"}`}
                  style={{ height: 14, background: reason ? "#21262d" : obiColor(obi) }}
                />
              );
            })}
            <span
              data-testid="obi-value"
              style={{ textAlign: "right", color: reason ? "#6e7681" : "#e6edf3", fontVariantNumeric: "tabular-nums" }}
              title={reason ?? ""}
            >
              {reason ? "—" : (current?.toFixed(3) ?? "n/a")}
            </span>
          </div>
        );
      })}
    </div>
  );
}

function SymbolDetail({ s }: { s: SymbolState | undefined }) {
  if (!s) return <p>Select a symbol in the heatmap.</p>;
  const data = s.history.map((h) => ({
    t: new Date(h.second * 1000).toISOString().slice(14, 19),
    obi20: h.values.obi20,
    obi5: h.values.obi5,
    micro: h.micro,
    spread: h.spread,
    ofi: h.ofi1s,
  }));
  return (
    <div data-testid="symbol-detail">
      <h3 style={{ margin: "4px 0" }}>{s.latest.symbol}</h3>
      <ResponsiveContainer width="100%" height={150}>
        <LineChart data={data}>
          <CartesianGrid stroke="#21262d" />
          <XAxis dataKey="t" stroke="#8b949e" fontSize={10} />
          <YAxis domain={[-1, 1]} stroke="#8b949e" fontSize={10} />
          <Tooltip contentStyle={{ background: "#161b22" }} />
          <Legend />
          <Line dataKey="obi20" stroke="#58a6ff" dot={false} isAnimationActive={false} />
          <Line dataKey="obi5" stroke="#d29922" dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
      <ResponsiveContainer width="100%" height={120}>
        <LineChart data={data}>
          <CartesianGrid stroke="#21262d" />
          <XAxis dataKey="t" stroke="#8b949e" fontSize={10} />
          <YAxis yAxisId="p" domain={["auto", "auto"]} stroke="#8b949e" fontSize={10} />
          <YAxis yAxisId="o" orientation="right" stroke="#8b949e" fontSize={10} />
          <Tooltip contentStyle={{ background: "#161b22" }} />
          <Legend />
          <Line yAxisId="p" dataKey="micro" name="microprice" stroke="#3fb950" dot={false} isAnimationActive={false} />
          <Line yAxisId="o" dataKey="spread" name="spread bps" stroke="#a371f7" dot={false} isAnimationActive={false} />
          <Line yAxisId="o" dataKey="ofi" name="OFI 1s" stroke="#f778ba" dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

export default function Dashboard({ gatewayUrl, token: initialToken }: { gatewayUrl: string; token: string }) {
  const [token, setToken] = useState(initialToken);
  const [depth, setDepth] = useState<Depth>("obi20");
  const [selected, setSelected] = useState<string | undefined>();
  const [feedback, setFeedback] = useState("");
  const view = usePipeline(gatewayUrl, token);
  const health = view.health;
  const layers = LAYER_ORDER.filter((l) => view.healthHistory.some((h) => h.layers[l]));
  const chart = useMemo(
    () =>
      view.healthHistory.map((h) => ({
        t: new Date(h.t).toISOString().slice(14, 19),
        ...Object.fromEntries(layers.map((l) => [l, h.layers[l]?.p50 ?? 0])),
      })),
    [view.version],
  );
  const last = view.healthHistory.at(-1)?.layers ?? {};
  const e2e = LAYER_ORDER.reduce((a, l) => a + (last[l]?.p50 ?? 0), 0);

  const act = async (what: string, fn: () => Promise<unknown>) => {
    setFeedback(`${what}…`);
    try {
      await fn();
      setFeedback(`${what}: done`);
    } catch (err) {
      setFeedback(`${what}: ${ConnectError.from(err).rawMessage}`);
    }
  };
  const opts = { headers: { authorization: `Bearer ${token}` } };

  return (
    <main style={{ padding: 16, display: "grid", gap: 16 }}>
      {!view.connected && (
        <div
          data-testid="disconnected-banner"
          role="alert"
          style={{ background: "#8e1519", padding: 10, borderRadius: 6 }}
        >
          Gateway unreachable ({gatewayUrl}){view.lastError ? `: ${view.lastError}` : ""}. Reconnecting… values below
          are not live.
        </div>
      )}
      <header style={{ display: "flex", gap: 16, alignItems: "center", flexWrap: "wrap" }}>
        <h1 style={{ margin: 0, fontSize: 22 }}>QuantCore</h1>
        <span data-testid="connection">{view.connected ? "● live" : "○ offline"}</span>
        <label>
          depth{" "}
          <select data-testid="depth" value={depth} onChange={(e) => setDepth(e.target.value as Depth)}>
            <option value="obi1">1</option>
            <option value="obi5">5</option>
            <option value="obi10">10</option>
            <option value="obi20">20</option>
            <option value="all">all (mean)</option>
          </select>
        </label>
        <label>
          token{" "}
          <input type="password" value={token} onChange={(e) => setToken(e.target.value)} style={{ width: 120 }} />
        </label>
        <button data-testid="replay" onClick={() => act("replay", () => view.client.startReplay({}, opts))}>
          Start replay
        </button>
        <button
          data-testid="resync"
          disabled={!selected}
          onClick={() =>
            selected && act(`resync ${selected}`, () => view.client.forceResync({ symbol: selected }, opts))
          }
        >
          Resync {selected ?? "symbol"}
        </button>
        <span data-testid="feedback">{feedback}</span>
      </header>

      <section>
        <h2 style={{ fontSize: 16 }}>
          Order book imbalance, last {HISTORY_SECONDS} s ({view.symbols.size} symbols)
        </h2>
        <Heatmap symbols={view.symbols} depth={depth} connected={view.connected} onSelect={setSelected} />
      </section>

      <section style={{ display: "grid", gridTemplateColumns: "1fr 1fr", gap: 16 }}>
        <div>
          <h2 style={{ fontSize: 16 }}>Symbol detail</h2>
          <SymbolDetail s={selected ? view.symbols.get(selected) : undefined} />
        </div>
        <div data-testid="latency">
          <h2 style={{ fontSize: 16 }}>Latency by layer (p50, stacked) — end to end ≈ {e2e.toFixed(1)} ms</h2>
          <ResponsiveContainer width="100%" height={220}>
            <AreaChart data={chart}>
              <CartesianGrid stroke="#21262d" />
              <XAxis dataKey="t" stroke="#8b949e" fontSize={10} />
              <YAxis stroke="#8b949e" fontSize={10} unit=" ms" />
              <Tooltip contentStyle={{ background: "#161b22" }} />
              <Legend />
              {layers.map((l) => (
                <Area
                  key={l}
                  type="monotone"
                  dataKey={l}
                  stackId="1"
                  stroke={LAYER_COLORS[LAYER_ORDER.indexOf(l)]}
                  fill={LAYER_COLORS[LAYER_ORDER.indexOf(l)]}
                  isAnimationActive={false}
                />
              ))}
            </AreaChart>
          </ResponsiveContainer>
          <table style={{ fontSize: 12, width: "100%" }}>
            <thead>
              <tr>
                <th align="left">layer</th>
                <th align="right">p50 ms</th>
                <th align="right">p99 ms</th>
              </tr>
            </thead>
            <tbody>
              {LAYER_ORDER.map((l) => (
                <tr key={l} data-testid="latency-row" data-layer={l} data-has-data={last[l] ? "true" : "false"}>
                  <td>{l}</td>
                  <td align="right">{last[l]?.p50.toFixed(2) ?? "—"}</td>
                  <td align="right">{last[l]?.p99.toFixed(2) ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section data-testid="shards">
        <h2 style={{ fontSize: 16 }}>Ingest shards</h2>
        {!health && <p>Health unavailable (gateway offline or token rejected).</p>}
        <table style={{ fontSize: 12, width: "100%" }}>
          <thead>
            <tr>
              {[
                "shard",
                "state",
                "symbols",
                "frames/s",
                "last frame",
                "reconnects",
                "resyncs",
                "gaps",
                "rejected",
                "backlog",
              ].map((h) => (
                <th key={h} align="left">
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {health?.shards.map((s) => (
              <tr key={s.shardId} data-testid="shard-row" data-connected={s.connected ? "true" : "false"}>
                <td>{s.shardId}</td>
                <td style={{ color: s.connected ? "#3fb950" : "#f85149" }}>
                  {s.connected ? "connected" : s.stale ? "stale" : "disconnected"}
                </td>
                <td>{s.symbols.join(" ")}</td>
                <td>{s.framesPerSecond.toFixed(1)}</td>
                <td>{s.lastFrameAgeMs >= 0 ? `${Math.round(s.lastFrameAgeMs)} ms` : "—"}</td>
                <td>{String(s.reconnects)}</td>
                <td>{String(s.resyncs)}</td>
                <td>{String(s.gaps)}</td>
                <td>{String(s.rejectedFrames)}</td>
                <td>{String(s.producerBacklog)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <h3 style={{ fontSize: 14 }}>Consumer lag per partition</h3>
        <div data-testid="lag" style={{ display: "flex", gap: 4, flexWrap: "wrap", fontSize: 11 }}>
          {health?.consumerLag.map((p) => (
            <span
              key={p.partition}
              title={`partition ${p.partition}`}
              style={{ padding: "2px 4px", background: p.lag > 100n ? "#8e1519" : "#21262d" }}
            >
              p{p.partition}: {String(p.lag)}
            </span>
          ))}
        </div>
        {health?.replays.map((r) => (
          <p key={r.id} data-testid="replay-job">
            replay {r.id}: {r.state} — {r.detail}
          </p>
        ))}
      </section>
    </main>
  );
}
