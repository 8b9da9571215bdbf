"use client";
// One place that talks to the gateway over gRPC-Web: market updates and pipeline health, with
// reconnects (exponential backoff with jitter) and renders batched once per animation frame.
import { useEffect, useRef, useState } from "react";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { ControlService, MarketDataService, type MarketUpdate, type PipelineHealth } from "@quantcore/proto";

export const DEPTHS = ["obi1", "obi5", "obi10", "obi20"] as const;
export type Depth = (typeof DEPTHS)[number] | "all";
export const HISTORY_SECONDS = 60;
const STALE_AFTER_MS = 5_000;

export interface SymbolState {
  latest: MarketUpdate;
  lastSeenMs: number;
  /** Per-second buckets of the latest OBI at each depth (oldest first). */
  history: {
    second: number;
    values: Record<string, number | undefined>;
    mid?: number;
    micro?: number;
    spread?: number;
    ofi1s?: number;
  }[];
  resyncing: boolean;
}

export interface PipelineView {
  connected: boolean;
  lastError: string;
  symbols: Map<string, SymbolState>;
  health: PipelineHealth | undefined;
  healthHistory: { t: number; layers: Record<string, { p50: number; p99: number }> }[];
  browserLatencyMs: number[];
  firstValueAtMs: number | undefined;
  version: number;
}

export function staleReason(s: SymbolState, connected: boolean, nowMs: number): string | undefined {
  if (!connected) return "gateway disconnected";
  if (s.resyncing) return "resyncing";
  if (nowMs - s.lastSeenMs > STALE_AFTER_MS) return `no update for ${Math.round((nowMs - s.lastSeenMs) / 1000)} s`;
  return undefined;
}

const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

export function usePipeline(
  gatewayUrl: string,
  token: string,
): PipelineView & { client: Client<typeof ControlService> } {
  const state = useRef<PipelineView>({
    connected: false,
    lastError: "",
    symbols: new Map(),
    health: undefined,
    healthHistory: [],
    browserLatencyMs: [],
    firstValueAtMs: undefined,
    version: 0,
  });
  const [, setTick] = useState(0);
  const transport = useRef(createGrpcWebTransport({ baseUrl: gatewayUrl }));
  const control = useRef(createClient(ControlService, transport.current));

  useEffect(() => {
    let stopped = false;
    let frame = 0;
    const abort = new AbortController();
    const render = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        state.current.version++;
        setTick((t) => t + 1);
      });
    };
    const market = createClient(MarketDataService, transport.current);
    const auth = { authorization: `Bearer ${token}` };

    const streamMarket = async () => {
      for (let attempt = 0; !stopped; attempt++) {
        try {
          for await (const res of market.streamMarketUpdates(
            { symbols: [], allowBatches: true },
            { signal: abort.signal },
          )) {
            attempt = 0;
            state.current.connected = true;
            state.current.lastError = "";
            if (res.event.case === "reset") {
              for (const s of state.current.symbols.values()) s.resyncing = true;
            } else if (res.event.case === "update" || res.event.case === "batch") {
              // A batch carries several symbols' updates at once (the gateway batches under load).
              const list = res.event.case === "update" ? [res.event.value] : res.event.value.updates;
              for (const u of list) {
                const receivedUs = nowUs();
                const nowMs = Date.now();
                if (!u.snapshot && u.timestamps && u.timestamps.gatewaySendUs > 0) {
                  const l = state.current.browserLatencyMs;
                  l.push((receivedUs - u.timestamps.gatewaySendUs) / 1000);
                  if (l.length > 2000) l.splice(0, l.length - 2000);
                }
                if (state.current.firstValueAtMs === undefined) {
                  state.current.firstValueAtMs = performance.now();
                  // Read by the browser test: page load -> first live value.
                  (window as unknown as { __qcFirstValueMs?: number }).__qcFirstValueMs = state.current.firstValueAtMs;
                }
                const sig = u.signals;
                const second = Math.floor(nowMs / 1000);
                const st = state.current.symbols.get(u.symbol) ?? {
                  latest: u,
                  lastSeenMs: nowMs,
                  history: [],
                  resyncing: false,
                };
                st.latest = u;
                st.lastSeenMs =
                  u.snapshot && u.timestamps?.computePublishUs
                    ? Math.min(nowMs, u.timestamps.computePublishUs / 1000)
                    : nowMs;
                st.resyncing = false;
                const bucket = {
                  second,
                  values: { obi1: sig?.obi1, obi5: sig?.obi5, obi10: sig?.obi10, obi20: sig?.obi20 },
                  mid: sig?.midPrice,
                  micro: sig?.microprice,
                  spread: sig?.spreadBps,
                  ofi1s: sig?.ofi1s,
                };
                const last = st.history.at(-1);
                if (last && last.second === second) st.history[st.history.length - 1] = bucket;
                else st.history.push(bucket);
                while (st.history.length > HISTORY_SECONDS) st.history.shift();
                state.current.symbols.set(u.symbol, st);
              }
            }
            render();
          }
        } catch (err) {
          if (stopped) return;
          state.current.connected = false;
          state.current.lastError = err instanceof Error ? err.message : String(err);
          render();
        }
        const delay = Math.random() * Math.min(5_000, 250 * 2 ** attempt);
        await new Promise((r) => setTimeout(r, delay));
      }
    };

    const streamHealth = async () => {
      for (let attempt = 0; !stopped; attempt++) {
        try {
          for await (const res of control.current.watchPipelineHealth(
            { intervalMs: 1000 },
            { signal: abort.signal, headers: auth },
          )) {
            attempt = 0;
            const h = res.health;
            state.current.health = h;
            if (h) {
              const layers: Record<string, { p50: number; p99: number }> = {};
              for (const l of h.latency) layers[l.layer] = { p50: l.p50Ms, p99: l.p99Ms };
              const b = [...state.current.browserLatencyMs].sort((x, y) => x - y);
              if (b.length > 0)
                layers["gateway -> browser"] = {
                  p50: b[Math.floor(b.length * 0.5)]!,
                  p99: b[Math.min(b.length - 1, Math.floor(b.length * 0.99))]!,
                };
              state.current.healthHistory.push({ t: Date.now(), layers });
              if (state.current.healthHistory.length > 120) state.current.healthHistory.shift();
            }
            render();
          }
        } catch {
          if (stopped) return;
          state.current.health = undefined;
          render();
        }
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(5_000, 250 * 2 ** attempt)));
      }
    };

    void streamMarket();
    void streamHealth();
    const ticker = setInterval(render, 1000); // stale markers age even without updates
    return () => {
      stopped = true;
      abort.abort();
      clearInterval(ticker);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [gatewayUrl, token]);

  return { ...state.current, client: control.current };
}
