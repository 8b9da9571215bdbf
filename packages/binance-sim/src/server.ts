// The Binance-compatible server: one HTTP server for REST and the WebSocket upgrade, the
// connection lifecycle (attempt limit, incoming-message limit, pings with per-ping pong
// deadlines, lifetime close), the synthetic-book clock and the replay driver.
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { Feed, type FaultController, type FeedConn, type SimStats } from "./feed.js";
import { DEFAULT_SIM_OPTIONS, type BinanceSimOptions } from "./options.js";
import { PongTracker, STREAM_RE, handleControl } from "./protocol.js";
import { ReplayDriver, hashSymbol } from "./replay-driver.js";
import { createRestHandler } from "./rest.js";
import { SyntheticBook } from "./synthetic.js";
import { SYMBOL_SPECS } from "./universe.js";

export type { FaultController, ReplayError, SimStats } from "./feed.js";

interface Conn extends FeedConn {
  ip: string;
  incoming: number[];
  pongs: PongTracker;
  timers: Set<NodeJS.Timeout>;
}

export interface BinanceSim extends EventEmitter {
  wsUrl: string;
  restUrl: string;
  port: number;
  faults: FaultController;
  stats(): SimStats;
  /** Symbols whose book is being served. */
  symbols(): string[];
  close(): Promise<void>;
}

export async function startBinanceSim(partial: Partial<BinanceSimOptions> = {}): Promise<BinanceSim> {
  const o: BinanceSimOptions = { ...DEFAULT_SIM_OPTIONS, ...partial };
  // Checked up front: a missing recording would otherwise surface as an uncaught ENOENT mid-replay.
  const missing = o.replayFiles.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new Error(
      `replay files not found: ${missing.join(", ")} (the recorded data lives in ../shared beside the checkout; set QUANTCORE_SHARED_DIR to point elsewhere)`,
    );
  }
  if (o.startReplayOn !== "start" && o.startReplayOn !== "firstSubscribe") {
    throw new Error(`startReplayOn must be "start" or "firstSubscribe", got ${JSON.stringify(o.startReplayOn)}`);
  }
  const emitter = new EventEmitter();
  const feed = new Feed(emitter);
  const conns = feed.conns as Set<Conn>;
  const attempts = new Map<string, number[]>();
  let closed = false;

  for (const s of o.syntheticSymbols) {
    const synthetic = new SyntheticBook(s, o.seed + hashSymbol(s));
    feed.state.set(s, { book: synthetic.book, synthetic, replaying: false, synced: true });
  }

  let carry = 0;
  let lastTickMs = performance.now();
  const synthTimer = setInterval(() => {
    // Due events follow elapsed time (capped at 1 s), so a timer firing late on a busy host keeps the rate.
    const elapsedMs = Math.min(performance.now() - lastTickMs, 1000);
    lastTickMs = performance.now();
    if (Date.now() < feed.stalledUntil) return;
    carry += (o.syntheticUpdatesPerSecond * elapsedMs) / 1000;
    const n = Math.floor(carry);
    carry -= n;
    for (let i = 0; i < n; i++) feed.syntheticStep();
  }, o.syntheticTickMs);

  const replay = new ReplayDriver(feed, o);
  const onSubscribed = (streams: string[]) => {
    if (streams.length > 0 && o.startReplayOn === "firstSubscribe") replay.begin();
  };

  // ---- WebSocket -----------------------------------------------------------------------
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server = http.createServer(createRestHandler(feed, o));

  /** PING, PONG and control frames count; more than the limit in any rolling second closes 1008. */
  const countIncoming = (c: Conn): boolean => {
    const now = Date.now();
    c.incoming.push(now);
    while (c.incoming.length > 0 && c.incoming[0]! <= now - 1000) c.incoming.shift();
    if (c.incoming.length > o.maxIncomingMessagesPerSecond) {
      c.ws.close(1008, "Too many requests");
      return false;
    }
    return true;
  };

  const later = (c: Conn, ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      c.timers.delete(t);
      fn();
    }, ms);
    c.timers.add(t);
  };

  const onConnection = (ws: WebSocket, ip: string, combined: boolean, streams: string[]) => {
    const c: Conn = {
      ws,
      ip,
      combined,
      streams: new Set(streams),
      incoming: [],
      pongs: new PongTracker(o.pongTimeoutMs),
      timers: new Set(),
    };
    conns.add(c);
    feed.stats.connections++;
    ws.on("message", (data, isBinary) => {
      if (!countIncoming(c)) return;
      if (isBinary) return c.ws.send(JSON.stringify({ code: 3, msg: "Invalid JSON: expected a text frame" }));
      const { reply, subscribed } = handleControl(c, data.toString(), o.maxStreamsPerConnection);
      c.ws.send(JSON.stringify(reply));
      onSubscribed(subscribed);
    });
    ws.on("ping", () => countIncoming(c));
    ws.on("pong", (payload) => {
      c.pongs.pong(payload);
      countIncoming(c);
    });
    // Every ping has its own deadline: it alone decides whether that ping went unanswered.
    const pinger = setInterval(() => {
      const payload = c.pongs.ping(Date.now());
      ws.ping(payload);
      later(c, o.pongTimeoutMs, () => {
        if (c.pongs.isPending(payload)) ws.terminate();
      });
    }, o.pingIntervalMs);
    c.timers.add(pinger);
    if (o.serverShutdownLeadMs > 0 && o.serverShutdownLeadMs < o.maxConnectionLifetimeMs) {
      later(c, o.maxConnectionLifetimeMs - o.serverShutdownLeadMs, () => feed.sendShutdown(c));
    }
    later(c, o.maxConnectionLifetimeMs, () => ws.close(1000, "connection lifetime reached"));
    ws.on("close", () => {
      conns.delete(c);
      for (const t of c.timers) clearTimeout(t);
    });
    ws.on("error", () => {});
    emitter.emit("connection", { streams: [...c.streams] });
    onSubscribed(streams);
  };

  server.on("upgrade", (req, socket, head) => {
    const ip = req.socket.remoteAddress ?? "?";
    const now = Date.now();
    const recent = (attempts.get(ip) ?? []).filter((t) => t > now - 300_000);
    recent.push(now);
    attempts.set(ip, recent);
    if (recent.length > o.maxConnectionsPer5Min) {
      socket.end("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 300\r\nConnection: close\r\n\r\n");
      return;
    }
    const url = new URL(decodeURIComponent(req.url ?? "/"), "http://x");
    let combined: boolean;
    let streams: string[];
    if (url.pathname === "/stream") {
      combined = true;
      streams = (url.searchParams.get("streams") ?? "").split("/").filter(Boolean);
    } else if (url.pathname === "/ws" || url.pathname.startsWith("/ws/")) {
      combined = false;
      streams = url.pathname.slice(4).split("/").filter(Boolean);
    } else {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      return;
    }
    // Over 1024 streams at connect time: refused with HTTP 400 (Binance does not document the form).
    if (streams.length > o.maxStreamsPerConnection || !streams.every((s) => STREAM_RE.test(s))) {
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (closed) return ws.terminate();
      onConnection(ws, ip, combined, streams);
    });
  });

  await new Promise<void>((resolve) => server.listen(o.port, o.host, resolve));
  const port = (server.address() as AddressInfo).port;
  if (o.startReplayOn === "start") replay.begin();
  const replayDone = replay.run().catch((err: unknown) => {
    // Never an unhandled 'error' event: a broken recording is reported, the server keeps serving.
    const e = { file: o.replayFiles.join(", "), reason: err instanceof Error ? err.message : String(err) };
    feed.stats.replayErrors.push(e);
    emitter.emit("replayError", e);
  });

  return Object.assign(emitter, {
    wsUrl: `ws://${o.host}:${port}`,
    restUrl: `http://${o.host}:${port}`,
    port,
    faults: feed.faults,
    stats: () => ({ ...feed.stats, replayErrors: [...feed.stats.replayErrors], connections: conns.size }),
    symbols: () => [...feed.state.keys()],
    async close() {
      closed = true;
      replay.stop();
      clearInterval(synthTimer);
      for (const c of conns) {
        // Cleared here too: a socket's close event may come after the caller stopped waiting.
        for (const t of c.timers) clearTimeout(t);
        c.ws.terminate();
      }
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
      // The replay loop checks `closed` between lines; bounded in case it waits on a drain.
      await Promise.race([replayDone, new Promise((r) => setTimeout(r, 5_000).unref())]);
    },
  });
}

export { SYMBOL_SPECS };
