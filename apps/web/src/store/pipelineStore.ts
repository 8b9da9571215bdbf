// The dashboard's state, outside React: the feed writes into it, panels read it when their topic
// notifies (see notify.ts). Per-update work is O(1): typed-array histories, latency histograms.
import {
  SymbolState as StatusState,
  type MarketUpdate,
  type PipelineHealth,
  type SymbolStatus,
} from "@quantcore/proto";
import { LatencyWindow, Ring, SecondHistory, type Series } from "../lib/history";
import {
  feedState,
  keepaliveHonoursInterval,
  LIVENESS_DEFAULTS,
  type FeedClock,
  type FeedState,
} from "../lib/liveness";
import { priceDecimals } from "../lib/format";
import { Notifier } from "./notify";

/** Without status events from the gateway, a symbol is stale after this long without an update. */
export const LOCAL_STALE_AFTER_MS = 5_000;
/** Latency stack, in pipeline order (the gateway's control-plane layer names, then ours). */
export const HOP_LAYERS = ["exchange -> ingest", "ingest", "kafka", "compute", "redis -> gateway"] as const;
export const BROWSER_LAYER = "gateway -> browser";
export const GATEWAY_E2E_LAYER = "end to end (ingest -> gateway)";

export interface ActionProgress {
  kind: "resync";
  phase: "sending" | "waiting" | "done" | "failed";
  text: string;
  fromEpoch: bigint;
  atMs: number;
}

export interface SymbolView {
  symbol: string;
  latest: MarketUpdate;
  /** When the latest value was produced (compute publish time, else receive time), ms. */
  dataAtMs: number;
  receivedMs: number;
  history: SecondHistory;
  /** The gateway's last status for the symbol (undefined until it sends one). */
  status: SymbolStatus | undefined;
  /** A stream reset dropped continuity; a fresh snapshot value is awaited. */
  resetPending: boolean;
  priceDecimals: number;
  action: ActionProgress | undefined;
}

export interface LatencyPoint {
  tMs: number;
  p50: Record<string, number | undefined>;
}

const SERIES_OF = (u: MarketUpdate): (number | undefined)[] => {
  const s = u.signals;
  return [s?.obi1, s?.obi5, s?.obi10, s?.obi20, s?.microprice, s?.spreadBps, s?.ofi1s];
};

export class PipelineStore {
  readonly notifier = new Notifier();
  readonly symbols = new Map<string, SymbolView>();
  private sortedNames: string[] = [];
  readonly clock: FeedClock = { streamOpen: false, lastMessageMs: undefined, honoursInterval: false };
  /** True once the gateway sent any SymbolStatus: then it, not our clock, judges symbol staleness. */
  serverJudgesStaleness = false;
  lastError = "";
  health: PipelineHealth | undefined;
  healthAtMs: number | undefined;
  healthError = "";
  readonly browserLatency = new LatencyWindow();
  readonly latencyHistory = new Ring<LatencyPoint>(60);
  lastDataAtMs: number | undefined;
  announcement = "";
  droppedOutOfOrder = 0;
  private feed: FeedState = "connecting";

  constructor(private readonly now: () => number = Date.now) {}

  names(): string[] {
    return this.sortedNames;
  }

  feedState(): FeedState {
    return this.feed;
  }

  /** Re-judges liveness (called on a timer); notifies when the state changed. */
  tick(): void {
    const next = feedState(this.clock, this.now());
    if (next !== this.feed) {
      this.feed = next;
      this.notifier.dirty("status");
    }
    this.notifier.dirtyAll();
  }

  /** Why a symbol is not live, or undefined when it is. */
  staleReason(s: SymbolView, nowMs = this.now()): string | undefined {
    if (this.feed !== "live") return this.feed === "offline" ? "feed offline" : "connecting";
    if (s.resetPending) return "stream reset: awaiting snapshot";
    if (this.serverJudgesStaleness) {
      if (s.status?.state === StatusState.STALE) return s.status.reason || "stale";
      return undefined;
    }
    const silentMs = nowMs - s.receivedMs;
    return silentMs > LOCAL_STALE_AFTER_MS ? `no update for ${Math.round(silentMs / 1000)} s` : undefined;
  }

  streamOpened(): void {
    this.clock.streamOpen = true;
    this.tick();
  }

  streamClosed(error: string): void {
    this.clock.streamOpen = false;
    this.lastError = error;
    this.tick();
  }

  /** Any message counts as a sign of life. */
  private heard(): number {
    const nowMs = this.now();
    this.clock.lastMessageMs = nowMs;
    if (this.feed !== "live") this.tick();
    return nowMs;
  }

  keepalive(): void {
    const prev = this.clock.lastMessageMs;
    const nowMs = this.heard();
    if (prev !== undefined && keepaliveHonoursInterval(nowMs - prev, LIVENESS_DEFAULTS.keepaliveIntervalMs))
      this.clock.honoursInterval = true;
  }

  reset(reason: string): void {
    this.heard();
    for (const s of this.symbols.values()) s.resetPending = true;
    this.announcement = `Stream reset (${reason}); reloading state.`;
    this.notifier.dirtyAll();
  }

  status(st: SymbolStatus): void {
    this.heard();
    this.serverJudgesStaleness = true;
    this.clock.honoursInterval = true;
    const s = this.symbols.get(st.symbol);
    if (s) s.status = st;
    else this.pendingStatus.set(st.symbol, st);
    this.notifier.dirty("status");
    this.notifier.dirty("heatmap");
  }
  private readonly pendingStatus = new Map<string, SymbolStatus>();

  update(u: MarketUpdate, receivedUs: number): void {
    const nowMs = this.heard();
    let s = this.symbols.get(u.symbol);
    if (s && !s.resetPending) {
      const older = u.bookEpoch < s.latest.bookEpoch;
      const sameEpochOlder = u.bookEpoch === s.latest.bookEpoch && u.updateId < s.latest.updateId;
      if (older || sameEpochOlder) {
        this.droppedOutOfOrder++;
        return;
      }
    }
    const publishMs = (u.timestamps?.computePublishUs ?? 0) / 1000;
    const dataAtMs = publishMs > 0 ? Math.min(nowMs, publishMs) : nowMs;
    if (!s) {
      s = {
        symbol: u.symbol,
        latest: u,
        dataAtMs,
        receivedMs: nowMs,
        history: new SecondHistory(),
        status: this.pendingStatus.get(u.symbol),
        resetPending: false,
        priceDecimals: 0,
        action: undefined,
      };
      this.pendingStatus.delete(u.symbol);
      this.symbols.set(u.symbol, s);
      this.sortedNames = [...this.symbols.keys()].sort();
    }
    s.latest = u;
    s.dataAtMs = dataAtMs;
    s.receivedMs = nowMs;
    s.resetPending = false;
    const sig = u.signals;
    s.priceDecimals = Math.max(s.priceDecimals, priceDecimals(sig?.bestBidPrice), priceDecimals(sig?.bestAskPrice));
    s.history.write(Math.floor(dataAtMs / 1000), SERIES_OF(u));
    this.lastDataAtMs = Math.max(this.lastDataAtMs ?? 0, dataAtMs);
    const sendUs = u.timestamps?.gatewaySendUs ?? 0;
    if (!u.snapshot && !u.late && sendUs > 0) this.browserLatency.record(nowMs, (receivedUs - sendUs) / 1000);
    const a = s.action;
    if (a?.phase === "waiting" && u.bookEpoch > a.fromEpoch) {
      this.setAction(s, { ...a, phase: "done", text: "resync done: book rebuilt", atMs: nowMs });
    }
    this.notifier.dirty("heatmap");
    this.notifier.dirty("charts");
  }

  setHealth(h: PipelineHealth | undefined, error = ""): void {
    this.health = h;
    this.healthError = error;
    if (!h) {
      this.notifier.dirty("charts");
      return;
    }
    const nowMs = this.now();
    this.healthAtMs = nowMs;
    const p50: Record<string, number | undefined> = {};
    for (const l of h.latency) if (l.count > 0n) p50[l.layer] = l.p50Ms;
    p50[BROWSER_LAYER] = this.browserLatency.percentiles(nowMs)?.p50;
    this.latencyHistory.push({ tMs: h.serverTimeUs > 0 ? h.serverTimeUs / 1000 : nowMs, p50 });
    this.notifier.dirty("charts");
  }

  setAction(s: SymbolView, a: ActionProgress): void {
    s.action = a;
    this.announcement = `${s.symbol}: ${a.text}`;
    this.notifier.dirtyAll();
  }

  /** Values of one series for the heatmap's depth choice ("all" = the mean of the four depths). */
  obiAt(s: SymbolView, second: number, depth: Series | "all"): number {
    if (depth !== "all") return s.history.at(second, depth);
    let sum = 0;
    let n = 0;
    for (const d of ["obi1", "obi5", "obi10", "obi20"] as const) {
      const v = s.history.at(second, d);
      if (!Number.isNaN(v)) {
        sum += v;
        n++;
      }
    }
    return n ? sum / n : NaN;
  }

  close(): void {
    this.notifier.close();
  }
}
