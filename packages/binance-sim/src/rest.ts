// REST: GET /api/v3/depth (and USD-M /fapi/v1/depth) with Binance's request-weight limiter
// (429, then escalating 418 bans), plus the simulator's own GET /sim/status.
import type http from "node:http";
import type { Feed } from "./feed.js";
import { depthWeight, type BinanceSimOptions } from "./options.js";

/** Binance's per-IP request weight over a rolling minute; continuing after a 429 earns a ban. */
export class RestLimiter {
  private readonly byIp = new Map<
    string,
    { used: [number, number][]; limited: boolean; banUntil: number; bans: number }
  >();

  constructor(private readonly o: Pick<BinanceSimOptions, "restWeightPerMinute" | "banInitialMs">) {}

  /** Charges `weight` to `ip` now: ok with the weight used, or the status and Retry-After to answer. */
  charge(
    ip: string,
    weight: number,
    now = Date.now(),
  ): { ok: true; usedWeight: number } | { ok: false; status: 429 | 418; retryAfterS: number; usedWeight: number } {
    const w = this.byIp.get(ip) ?? { used: [], limited: false, banUntil: 0, bans: 0 };
    this.byIp.set(ip, w);
    w.used = w.used.filter(([t]) => t > now - 60_000);
    const usedNow = w.used.reduce((s, [, x]) => s + x, 0);
    const banned = () => ({
      ok: false as const,
      status: 418 as const,
      retryAfterS: Math.ceil((w.banUntil - now) / 1000),
      usedWeight: usedNow,
    });
    if (now < w.banUntil) return banned();
    if (usedNow + weight > this.o.restWeightPerMinute) {
      if (w.limited) {
        w.banUntil = now + this.o.banInitialMs * 2 ** w.bans++;
        return banned();
      }
      w.limited = true;
      const retryAfterS = Math.max(1, Math.ceil(((w.used[0]?.[0] ?? now) + 60_000 - now) / 1000));
      return { ok: false, status: 429, retryAfterS, usedWeight: usedNow };
    }
    w.limited = false;
    w.used.push([now, weight]);
    return { ok: true, usedWeight: usedNow + weight };
  }
}

export function createRestHandler(
  feed: Feed,
  o: BinanceSimOptions,
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const limiter = new RestLimiter(o);
  const stats = feed.stats;
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const ip = req.socket.remoteAddress ?? "?";
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json;charset=UTF-8", ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/sim/status") {
      // Not Binance: the simulator's own state, so a replay that cannot be synced is visible.
      return json(200, { ...stats, connections: feed.conns.size, symbols: [...feed.state.keys()] });
    }
    // Spot and USD-M snapshot paths; a USD-M recording replays through the same book.
    const futures = url.pathname === "/fapi/v1/depth";
    if (url.pathname !== "/api/v3/depth" && !futures) return json(404, { code: -1000, msg: "Unknown endpoint." });
    stats.restRequests++;
    const limit = Math.min(5000, Math.max(1, Number(url.searchParams.get("limit") ?? 100) || 100));
    const charged = limiter.charge(ip, depthWeight(limit, futures));
    if (!charged.ok) {
      if (charged.status === 418) {
        stats.rest418++;
        return json(
          418,
          { code: -1003, msg: "Way too many requests; IP banned." },
          { "Retry-After": String(charged.retryAfterS) },
        );
      }
      stats.rest429++;
      return json(
        429,
        { code: -1003, msg: "Too many requests." },
        { "Retry-After": String(charged.retryAfterS), "X-MBX-USED-WEIGHT-1M": String(charged.usedWeight) },
      );
    }
    const headers = { "X-MBX-USED-WEIGHT-1M": String(charged.usedWeight) };
    if (feed.refuse > 0) {
      feed.refuse--;
      return json(
        503,
        { code: -1001, msg: "Internal error; unable to process your request. Please try again." },
        headers,
      );
    }
    const symbol = url.searchParams.get("symbol") ?? "";
    const st = feed.state.get(symbol);
    if (!st || !st.synced) {
      // A symbol whose recording cannot be synced is not served; say why beside Binance's answer.
      const why: Record<string, string> = st?.failed
        ? { "X-QC-Sim-Error": st.failed.replace(/[^\x20-\x7e]/g, "?") }
        : {};
      return json(400, { code: -1121, msg: "Invalid symbol." }, { ...headers, ...why });
    }
    const stale = feed.staleBooks.get(symbol);
    if (stale) {
      feed.staleBooks.delete(symbol);
      return json(
        200,
        { lastUpdateId: stale.id, bids: stale.top.bids.slice(0, limit), asks: stale.top.asks.slice(0, limit) },
        headers,
      );
    }
    const top = st.book.top(limit);
    return json(200, { lastUpdateId: st.book.lastUpdateId, bids: top.bids, asks: top.asks }, headers);
  };
}
