import { QuantCoreError, backoffDelayMs, createLogger } from "@quantcore/runtime";
import { MARKET_ENDPOINTS, depthRequestWeight, type Market } from "./options.js";

const log = createLogger("ingest.snapshots");

export interface SnapshotFetcherOptions {
  restBaseUrl: string;
  market: Market;
  limit: number;
  weightPerMinute: number;
  timeoutMs: number;
}

/**
 * Fetches REST depth snapshots one at a time, paced by a token bucket over the request
 * weight so a resync storm (e.g. after the 24 h disconnect) can never exceed the budget;
 * a 429/418 pauses every request until Retry-After has passed.
 */
export class SnapshotFetcher {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private tokens: number;
  private lastRefillMs = Date.now();
  private pausedUntilMs = 0;
  private running = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly failures = new Map<string, number>();
  readonly stats = { requests: 0, failures: 0, rateLimited: 0, weightUsed: 0 };

  constructor(
    private readonly opts: SnapshotFetcherOptions,
    private readonly onSnapshot: (symbol: string, body: string) => void,
  ) {
    this.tokens = opts.weightPerMinute;
  }

  /** Idempotent per symbol: a symbol already waiting is not queued twice. */
  request(symbol: string): void {
    if (this.closed || this.queued.has(symbol)) return;
    this.queued.add(symbol);
    this.queue.push(symbol);
    this.pump();
  }

  /** Re-request after a failed or unusable snapshot, with per-symbol backoff. */
  retryLater(symbol: string): void {
    const n = (this.failures.get(symbol) ?? 0) + 1;
    this.failures.set(symbol, n);
    const delayMs = backoffDelayMs(n, { initialDelayMs: 200, maxDelayMs: 10_000, multiplier: 2 });
    setTimeout(() => this.request(symbol), delayMs).unref();
  }

  succeeded(symbol: string): void {
    this.failures.delete(symbol);
  }

  pending(): number {
    return this.queue.length;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private refill(now: number): void {
    const perMs = this.opts.weightPerMinute / 60_000;
    this.tokens = Math.min(this.opts.weightPerMinute, this.tokens + (now - this.lastRefillMs) * perMs);
    this.lastRefillMs = now;
  }

  private pump(): void {
    if (this.running || this.closed || this.queue.length === 0) return;
    const now = Date.now();
    this.refill(now);
    const weight = depthRequestWeight(this.opts.limit, this.opts.market);
    const waitMs = Math.max(
      this.pausedUntilMs - now,
      this.tokens >= weight ? 0 : ((weight - this.tokens) / this.opts.weightPerMinute) * 60_000,
    );
    if (waitMs > 0) {
      if (!this.timer) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, Math.ceil(waitMs));
      }
      return;
    }
    const symbol = this.queue.shift()!;
    this.queued.delete(symbol);
    this.tokens -= weight;
    this.stats.weightUsed += weight;
    this.running = true;
    void this.fetchOne(symbol).finally(() => {
      this.running = false;
      this.pump();
    });
  }

  private async fetchOne(symbol: string): Promise<void> {
    const path = MARKET_ENDPOINTS[this.opts.market].depthPath;
    const url = `${this.opts.restBaseUrl}${path}?symbol=${encodeURIComponent(symbol)}&limit=${this.opts.limit}`;
    this.stats.requests++;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs) });
      const body = await res.text();
      if (res.status === 429 || res.status === 418) {
        this.stats.rateLimited++;
        const retryAfterS = Number(res.headers.get("retry-after") ?? "60");
        this.pausedUntilMs = Date.now() + (Number.isFinite(retryAfterS) ? retryAfterS : 60) * 1000;
        log.warn("REST rate limited; pausing snapshots", { status: res.status, retryAfterS, symbol });
        this.request(symbol);
        return;
      }
      if (!res.ok)
        throw new QuantCoreError("unavailable", `GET depth ${symbol}: HTTP ${res.status} ${body.slice(0, 200)}`);
      this.onSnapshot(symbol, body);
    } catch (err) {
      this.stats.failures++;
      log.warn("snapshot fetch failed", { symbol, err: err instanceof Error ? err.message : String(err) });
      this.retryLater(symbol);
    }
  }
}
