"use client";
// Ingest shards and consumer lag from the control plane (1 Hz), with the figures' age.
import { age, fixed, NONE } from "../lib/format";
import type { PipelineStore } from "../store/pipelineStore";
import { useTopic } from "../store/useStore";
import { ScrollRegion } from "./ScrollRegion";

const LAG_WARN = 100n;

export function ShardsPanel({ store }: { store: PipelineStore }) {
  const { nowMs } = useTopic(store, "charts");
  const h = store.health;
  const lag = [...(h?.consumerLag ?? [])].sort((a, b) => a.partition - b.partition);
  return (
    <section className="panel" aria-labelledby="shards-title" data-testid="shards">
      <div className="panel-head">
        <h2 id="shards-title">Ingest shards</h2>
        <span className="age">
          {h ? `figures ${age(nowMs, store.healthAtMs)} old` : store.healthError || "no figures yet"}
        </span>
      </div>
      <ScrollRegion label="Ingest shards">
        <table className="numeric">
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
              ].map((c) => (
                <th key={c} scope="col">
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {h?.shards.map((s) => (
              <tr key={s.shardId} data-testid="shard-row" data-connected={s.connected ? "true" : "false"}>
                <th scope="row">{s.shardId}</th>
                <td className={s.connected ? "ok" : "bad"}>
                  {s.connected ? "● connected" : s.stale ? "○ stale" : "○ disconnected"}
                </td>
                <td className="text">
                  {s.symbols.length} ({s.symbols.slice(0, 3).join(" ")}
                  {s.symbols.length > 3 ? " …" : ""})
                </td>
                <td>{fixed(s.framesPerSecond, 1)}</td>
                <td>{s.lastFrameAgeMs >= 0 ? `${fixed(s.lastFrameAgeMs / 1000, 1)} s` : NONE}</td>
                <td>{String(s.reconnects)}</td>
                <td>{String(s.resyncs)}</td>
                <td>{String(s.gaps)}</td>
                <td>{String(s.rejectedFrames)}</td>
                <td>{String(s.producerBacklog)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
      <h3>Consumer lag by partition</h3>
      <ol className="lag" data-testid="lag">
        {lag.map((p) => (
          <li key={p.partition} className={p.lag > LAG_WARN ? "bad" : ""} data-partition={p.partition}>
            <span>p{p.partition}</span> <span className="num">{String(p.lag)}</span>
          </li>
        ))}
        {h && lag.length === 0 && <li className="muted">no lag figures (Kafka not configured on the gateway)</li>}
      </ol>
      {h?.replays.map((r) => (
        <p key={r.id} data-testid="replay-job">
          replay {r.id}: {r.state} — {r.detail}
        </p>
      ))}
    </section>
  );
}
