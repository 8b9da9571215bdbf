import { create, fromBinary } from "@bufbuild/protobuf";
import {
  MarketUpdateSchema,
  SymbolState,
  SymbolStatusSchema,
  type MarketUpdate,
  type SymbolStatus,
} from "@quantcore/proto";
import {
  computeHeartbeatSchema,
  createLogger,
  settlesWithin,
  redisKeys,
  shardHeartbeatSchema,
  type ComputeHeartbeat,
  type ShardHeartbeat,
} from "@quantcore/runtime";
import { parseHeartbeats } from "./heartbeats.js";
import type { StateStore } from "./state-store.js";

const log = createLogger("gateway.liveness");

export interface LivenessOptions {
  /** How often every symbol is judged (one place per gateway; only changes are fanned out). */
  statusIntervalMs: number;
  /** A shard whose heartbeat is older than this makes its symbols STALE. */
  shardHeartbeatTimeoutMs: number;
  /** Once any compute heartbeat was seen: all of them older than this = compute down (every symbol STALE). */
  computeHeartbeatTimeoutMs: number;
  /** No update newer than this (by ingest receive time) while the symbol's shard receives frames: STALE. */
  maxDataAgeMs: number;
  /** How often the symbols of `<ns>:state` are re-read into the universe. */
  universeRefreshMs: number;
  /** Symbols known up front (GATEWAY_UNIVERSE_FILE); more are learnt from heartbeats and the state. */
  universe: readonly string[];
}

interface Judgement {
  state: SymbolState;
  /** Stable cause ("live", "no-shard", "shard-old", ...): a change of cause is a change. */
  cause: string;
  reason: string;
}

interface SymbolData {
  /** Ingest receive time of the newest value (gateway receive time when it carries none), ms. */
  lastDataAtMs: number;
  updateId: bigint;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Judges every symbol LIVE or STALE from shard heartbeats (`<ns>:shards`), compute heartbeats
 * (`<ns>:compute`) and the age of the symbol's data, on one timer per gateway, and reports only
 * changes. It also holds the universe the gateway answers NOT_FOUND against.
 */
export class Liveness {
  private readonly keys: ReturnType<typeof redisKeys>;
  private readonly data = new Map<string, SymbolData>();
  private readonly statuses = new Map<string, { status: SymbolStatus; cause: string }>();
  private readonly fixed: ReadonlySet<string>;
  private learnt = new Set<string>();
  private shardOf = new Map<string, ShardHeartbeat>();
  private compute: ComputeHeartbeat[] = [];
  private computeSeen = false;
  private timer: NodeJS.Timeout | undefined;
  private lastUniverseReadAtMs = 0;
  private refreshing: Promise<void> | undefined;
  /** Status changes since the last evaluation, in symbol order. */
  onChanges: ((changes: SymbolStatus[]) => void) | undefined;
  onRejected: ((contract: string) => void) | undefined;

  constructor(
    private readonly store: StateStore,
    namespace: string,
    private readonly opts: LivenessOptions,
  ) {
    this.keys = redisKeys(namespace);
    this.fixed = new Set(opts.universe);
  }

  /** Reads heartbeats and the stored state once and judges every symbol, then keeps doing so on a timer. */
  async start(): Promise<void> {
    await this.refresh(Date.now(), true);
    this.evaluate(Date.now());
    this.timer = setInterval(() => void this.tick(), this.opts.statusIntervalMs);
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Each update from the subscription (cheap: one map lookup). */
  observe(u: MarketUpdate, nowMs: number): void {
    const ingestMs = (u.timestamps?.ingestReceiveUs ?? 0) / 1000;
    const atMs = ingestMs > 0 ? ingestMs : nowMs;
    const d = this.data.get(u.symbol);
    if (d) {
      if (atMs > d.lastDataAtMs) d.lastDataAtMs = atMs;
      d.updateId = u.updateId;
    } else {
      this.data.set(u.symbol, { lastDataAtMs: atMs, updateId: u.updateId });
      this.learnt.add(u.symbol);
    }
  }

  /** Every symbol the gateway knows: the universe file, shard heartbeats, the stored state. */
  symbols(): string[] {
    return [...new Set([...this.fixed, ...this.learnt, ...this.shardOf.keys()])].sort();
  }

  private knows(symbol: string): boolean {
    return this.fixed.has(symbol) || this.learnt.has(symbol) || this.shardOf.has(symbol);
  }

  /**
   * The requested symbols the gateway does not know. A miss re-reads the heartbeats and the
   * state first (a symbol written a moment ago is not refused). While the gateway knows no
   * symbol at all (nothing configured, nothing written yet) it cannot judge: nothing is unknown.
   */
  async unknown(symbols: readonly string[]): Promise<string[]> {
    if (symbols.every((s) => this.knows(s))) return [];
    await this.refresh(Date.now(), true);
    if (this.fixed.size === 0 && this.learnt.size === 0 && this.shardOf.size === 0) return [];
    return symbols.filter((s) => !this.knows(s));
  }

  /** The current status of a symbol (STALE "unknown symbol" for one the gateway does not know). */
  statusOf(symbol: string): SymbolStatus {
    const s = this.statuses.get(symbol)?.status;
    if (s) return create(SymbolStatusSchema, { ...s, lastUpdateId: this.data.get(symbol)?.updateId ?? 0n });
    return create(SymbolStatusSchema, {
      symbol,
      state: SymbolState.STALE,
      reason: "not judged yet",
      lastUpdateId: this.data.get(symbol)?.updateId ?? 0n,
      sinceUs: Date.now() * 1000,
    });
  }

  private async tick(): Promise<void> {
    const read = this.refresh(Date.now(), false).catch((err: unknown) => {
      // Redis unreachable: judge with what we have (heartbeats age, symbols go STALE).
      log.warn("liveness refresh failed", { err: err instanceof Error ? err.message : String(err) });
    });
    // A Redis that stops answering without an error (a stalled network) must not stop the
    // judging either: wait one interval at most, then judge with what we have.
    await settlesWithin(read, this.opts.statusIntervalMs);
    this.evaluate(Date.now());
  }

  /** Concurrent callers share one read. */
  private refresh(nowMs: number, withUniverse: boolean): Promise<void> {
    this.refreshing ??= this.read(nowMs, withUniverse).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async read(nowMs: number, withUniverse: boolean): Promise<void> {
    const reject = (c: string) => this.onRejected?.(c);
    const [rawShards, rawCompute] = await Promise.all([
      this.store.heartbeats("shards"),
      this.store.heartbeats("compute"),
    ]);
    const shards = parseHeartbeats(rawShards, this.keys.shards, shardHeartbeatSchema, reject);
    const compute = parseHeartbeats(rawCompute, this.keys.compute, computeHeartbeatSchema, reject);
    const shardOf = new Map<string, ShardHeartbeat>();
    // Several heartbeats may name a symbol (a shard moved): the newest wins.
    for (const hb of shards.sort((a, b) => a.updatedAtMs - b.updatedAtMs))
      for (const s of hb.symbols) shardOf.set(s, hb);
    this.shardOf = shardOf;
    this.compute = compute;
    if (compute.length > 0) this.computeSeen = true;
    if (withUniverse || nowMs - this.lastUniverseReadAtMs >= this.opts.universeRefreshMs) {
      this.lastUniverseReadAtMs = nowMs;
      const fields = await this.store.stateSymbols();
      const fresh = fields.filter((s) => !this.data.has(s));
      for (const s of fields) this.learnt.add(s);
      if (fresh.length > 0) await this.seed(fresh, nowMs);
    }
  }

  /** Symbols first seen in the stored state: their data age starts at the stored value's ingest time. */
  private async seed(symbols: string[], nowMs: number): Promise<void> {
    const values = await this.store.state(symbols);
    symbols.forEach((symbol, i) => {
      const v = values[i];
      if (!v || this.data.has(symbol)) return;
      try {
        const u = fromBinary(MarketUpdateSchema, v);
        const ingestMs = (u.timestamps?.ingestReceiveUs ?? 0) / 1000;
        this.data.set(symbol, { lastDataAtMs: ingestMs > 0 ? ingestMs : nowMs, updateId: u.updateId });
      } catch {
        this.onRejected?.("state");
      }
    });
  }

  private judge(symbol: string, nowMs: number): Judgement {
    const stale = (cause: string, reason: string): Judgement => ({ state: SymbolState.STALE, cause, reason });
    const hb = this.shardOf.get(symbol);
    if (!hb) return stale("no-shard", `no ingest shard reports ${symbol}`);
    const hbAgeMs = nowMs - hb.updatedAtMs;
    if (hbAgeMs > this.opts.shardHeartbeatTimeoutMs)
      return stale("shard-old", `shard ${hb.shardId} heartbeat missing for ${secs(hbAgeMs)}`);
    if (!hb.connected) return stale("shard-disconnected", `shard ${hb.shardId} disconnected from the exchange`);
    if (this.computeSeen) {
      const newest = this.compute.reduce((m, c) => Math.max(m, c.updatedAtMs), 0);
      if (nowMs - newest > this.opts.computeHeartbeatTimeoutMs)
        return stale(
          "compute-down",
          newest > 0 ? `compute down (no heartbeat for ${secs(nowMs - newest)})` : "compute down (no heartbeat)",
        );
    }
    const d = this.data.get(symbol);
    if (!d) return stale("no-data", "no data yet");
    const ageMs = nowMs - d.lastDataAtMs;
    // The shard still receives frames, yet this symbol's data stopped: Kafka, compute or Redis is behind.
    const shardFrameAgeMs = hb.lastFrameAgeMs >= 0 ? hb.lastFrameAgeMs + hbAgeMs : Infinity;
    if (ageMs > this.opts.maxDataAgeMs && shardFrameAgeMs <= this.opts.maxDataAgeMs)
      return stale("no-update", `no update for ${secs(ageMs)}`);
    return { state: SymbolState.LIVE, cause: "live", reason: "" };
  }

  /** Judges every known symbol and reports the changes. */
  evaluate(nowMs: number): void {
    const changes: SymbolStatus[] = [];
    for (const symbol of this.symbols()) {
      const j = this.judge(symbol, nowMs);
      const prev = this.statuses.get(symbol);
      if (prev && prev.cause === j.cause) continue;
      const status = create(SymbolStatusSchema, {
        symbol,
        state: j.state,
        reason: j.reason,
        lastUpdateId: this.data.get(symbol)?.updateId ?? 0n,
        // A new cause of the same state keeps the time the state was entered.
        sinceUs: prev && prev.status.state === j.state ? prev.status.sinceUs : nowMs * 1000,
      });
      this.statuses.set(symbol, { status, cause: j.cause });
      changes.push(status);
    }
    if (changes.length > 0) this.onChanges?.(changes);
  }
}
