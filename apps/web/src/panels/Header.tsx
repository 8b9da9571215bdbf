"use client";
// Title, feed state, depth choice and the operator token (asked once, kept for this tab only).
import { useState } from "react";
import { age } from "../lib/format";
import { offlineThresholdMs } from "../lib/liveness";
import type { PipelineStore } from "../store/pipelineStore";
import { useTopic } from "../store/useStore";
import type { Depth } from "./Heatmap";

const DEPTH_LABEL: Record<Depth, string> = { obi1: "1", obi5: "5", obi10: "10", obi20: "20", all: "all (mean)" };

export function FeedBanner({ store, gatewayUrl }: { store: PipelineStore; gatewayUrl: string }) {
  // The charts topic ticks every second even when silent: the banner's age keeps counting.
  useTopic(store, "status");
  const { nowMs } = useTopic(store, "charts");
  const state = store.feedState();
  if (state === "live") return null;
  if (state === "connecting")
    return (
      <div className="banner info" role="status">
        Connecting to the gateway at {gatewayUrl}…
      </div>
    );
  const silent = store.clock.lastMessageMs;
  return (
    <div className="banner" role="alert" data-testid="disconnected-banner">
      <strong>Offline:</strong>{" "}
      {silent === undefined
        ? `cannot reach the gateway at ${gatewayUrl}`
        : `no message from the gateway for ${age(nowMs, silent)} (limit ${offlineThresholdMs(store.clock) / 1000} s)`}
      {store.lastError ? ` (${store.lastError})` : ""}. Reconnecting; every value below is the last known, not live.
    </div>
  );
}

export function Header(props: {
  store: PipelineStore;
  depth: Depth;
  onDepth: (d: Depth) => void;
  token: string;
  onToken: (t: string) => void;
}) {
  const { store, depth, onDepth, token, onToken } = props;
  useTopic(store, "status");
  const [draft, setDraft] = useState("");
  const state = store.feedState();
  return (
    <header className="header">
      <h1>QuantCore</h1>
      <span className={`conn ${state}`} data-testid="connection" data-state={state} role="status">
        {state === "live" ? "● live" : state === "offline" ? "○ offline" : "… connecting"}
      </span>
      <label>
        OBI depth{" "}
        <select data-testid="depth" value={depth} onChange={(e) => onDepth(e.target.value as Depth)}>
          {(Object.keys(DEPTH_LABEL) as Depth[]).map((d) => (
            <option key={d} value={d}>
              {DEPTH_LABEL[d]}
            </option>
          ))}
        </select>
      </label>
      {token ? (
        <span className="token">
          operator token set (this tab){" "}
          <button type="button" onClick={() => onToken("")}>
            Forget
          </button>
        </span>
      ) : (
        <form
          className="token"
          onSubmit={(e) => {
            e.preventDefault();
            onToken(draft.trim());
            setDraft("");
          }}
        >
          <label>
            Operator token{" "}
            <input type="password" autoComplete="off" value={draft} onChange={(e) => setDraft(e.target.value)} />
          </label>{" "}
          <button type="submit">Use</button>
        </form>
      )}
    </header>
  );
}
