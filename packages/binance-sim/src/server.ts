import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { SimBook, type WireLevel } from "./book.js";
import { DEFAULT_SIM_OPTIONS, depthWeight, type BinanceSimOptions } from "./options.js";
import { dataText, mergeRecordings } from "./replay.js";
import { SyntheticBook, type DiffEvent } from "./synthetic.js";
import { SYMBOL_SPECS } from "./universe.js";

const STREAM_RE = /^([a-z0-9]+)@(depth(?:5|10|20)?(?:@100ms|@1000ms)?|bookTicker|trade|aggTrade)$/;

interface Conn {
  ws: WebSocket;
  ip: string;
  combined: boolean;
  streams: Set<string>;
  incoming: number[];
  awaitingPong: boolean;
  timers: NodeJS.Timeout[];
}

interface RecordedDiff {
  U: number;
  u: number;
  b: WireLevel[];
  a: WireLevel[];
}

interface SymbolState {
  book: SimBook;
  synthetic?: SyntheticBook;
  replaying: boolean;
  synced: boolean;
  lastTop?: string;
  /** Replayed from a USD-M recording: its synthetic continuation carries T and pu too. */
  futures?: boolean;
}

export interface SimStats {
  connections: number;
  framesSent: number;
  depthEvents: number;
  restRequests: number;
  rest429: number;
  rest418: number;
  replayDone: boolean;
}

/** Fault injection for tests: every call affects only what is sent next. */
export interface FaultController {
  /** Skip the next `count` diffs of `symbol` on the wire; the server's own book still applies them. */
  dropNext(symbol: string, count?: number): void;
  /** Send the next diff of `symbol` twice. */
  duplicateNext(symbol: string): void;
  /** Swap the next two diffs of `symbol`. */
  reorderNext(symbol: string): void;
  /** Pause every push for `ms`. */
  stall(ms: number): void;
  disconnectAll(code?: number, reason?: string): void;
  sendServerShutdown(): void;
  /** Answer the next `count` depth requests with HTTP 503. */
  refuseSnapshots(count: number): void;
  /** Serve the next snapshot of `symbol` from before the stream the client buffered. */
  staleSnapshotNext(symbol: string): void;
  /** Push raw text to every subscriber of `symbol`'s diff-depth streams. */
  injectRaw(symbol: string, text: string): void;
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
  const emitter = new EventEmitter();
  const conns = new Set<Conn>();
  const state = new Map<string, SymbolState>();
  const stats: SimStats = {
    connections: 0,
    framesSent: 0,
    depthEvents: 0,
    restRequests: 0,
    rest429: 0,
    rest418: 0,
    replayDone: false,
  };
  const attempts = new Map<string, number[]>();
  const weights = new Map<string, { used: [number, number][]; limited: boolean; banUntil: number; bans: number }>();
  const drops = new Map<string, number>();
  const dupes = new Set<string>();
  const reorders = new Set<string>();
  const held = new Map<string, string[]>();
  const staleNext = new Set<string>();
  const staleBooks = new Map<string, { id: number; top: { bids: WireLevel[]; asks: WireLevel[] } }>();
  let refuse = 0;
  let stalledUntil = 0;
  let closed = false;

  for (const s of o.syntheticSymbols) {
    const synthetic = new SyntheticBook(s, o.seed + hash(s));
    state.set(s, { book: synthetic.book, synthetic, replaying: false, synced: true });
  }

  // ---- pushing -------------------------------------------------------------------------
  const send = (c: Conn, stream: string, combinedText: string) => {
    if (c.ws.readyState !== c.ws.OPEN) return;
    c.ws.send(c.combined ? combinedText : dataText(combinedText));
    stats.framesSent++;
  };
  const push = (stream: string, combinedText: string) => {
    for (const c of conns) if (c.streams.has(stream)) send(c, stream, combinedText);
  };
  const subscribed = (stream: string) => {
    for (const c of conns) if (c.streams.has(stream)) return true;
    return false;
  };

  /** Every diff goes through here: faults, the partial-depth and bookTicker derivations. */
  const pushDiff = (symbol: string, text: string, u: number) => {
    const lower = symbol.toLowerCase();
    stats.depthEvents++;
    emitter.emit("diff", { symbol, u });
    const d = drops.get(symbol) ?? 0;
    if (d > 0) {
      drops.set(symbol, d - 1);
    } else if (reorders.has(symbol) && !held.has(symbol)) {
      held.set(symbol, [text]);
    } else {
      for (const speed of ["@100ms", ""]) {
        const stream = `${lower}@depth${speed}`;
        const withStream = speed === "@100ms" ? text : text.replace(`@depth@100ms"`, `@depth"`);
        push(stream, withStream);
        if (dupes.has(symbol)) push(stream, withStream);
      }
      dupes.delete(symbol);
      const h = held.get(symbol);
      if (h) {
        held.delete(symbol);
        reorders.delete(symbol);
        for (const t of h) push(`${lower}@depth@100ms`, t);
      }
    }
    const st = state.get(symbol)!;
    for (const n of [5, 10, 20]) {
      for (const speed of ["@100ms", ""]) {
        const stream = `${lower}@depth${n}${speed}`;
        if (!subscribed(stream)) continue;
        const top = st.book.top(n);
        push(
          stream,
          `{"stream":"${stream}","data":${JSON.stringify({ lastUpdateId: u, bids: top.bids, asks: top.asks })}}`,
        );
      }
    }
  };

  const pushSyntheticTicker = (symbol: string, st: SymbolState) => {
    const stream = `${symbol.toLowerCase()}@bookTicker`;
    if (!subscribed(stream)) return;
    const t = st.book.top(1);
    const key = JSON.stringify(t);
    if (key === st.lastTop || !t.bids[0] || !t.asks[0]) return;
    st.lastTop = key;
    const data = {
      u: st.book.lastUpdateId,
      s: symbol,
      b: t.bids[0][0],
      B: t.bids[0][1],
      a: t.asks[0][0],
      A: t.asks[0][1],
    };
    push(stream, `{"stream":"${stream}","data":${JSON.stringify(data)}}`);
  };

  const diffText = (e: DiffEvent) => {
    const stream = `${e.symbol.toLowerCase()}@depth@100ms`;
    const now = Date.now();
    const data = state.get(e.symbol)?.futures
      ? { e: "depthUpdate", E: now, T: now, s: e.symbol, U: e.U, u: e.u, pu: e.U - 1, b: e.b, a: e.a }
      : { e: "depthUpdate", E: now, s: e.symbol, U: e.U, u: e.u, b: e.b, a: e.a };
    return `{"stream":"${stream}","data":${JSON.stringify(data)}}`;
  };

  // ---- synthetic books -----------------------------------------------------------------
  const tickMs = o.syntheticTickMs;
  let carry = 0;
  let lastTickMs = performance.now();
  const synthTimer = setInterval(() => {
    // Due events follow elapsed time (capped at 1 s), so a timer firing late on a busy host keeps the rate.
    const elapsedMs = Math.min(performance.now() - lastTickMs, 1000);
    lastTickMs = performance.now();
    if (Date.now() < stalledUntil) return;
    carry += (o.syntheticUpdatesPerSecond * elapsedMs) / 1000;
    const n = Math.floor(carry);
    carry -= n;
    for (let i = 0; i < n; i++) {
      for (const [symbol, st] of state) {
        if (!st.synthetic) continue;
        const e = st.synthetic.next();
        pushDiff(symbol, diffText(e), e.u);
        pushSyntheticTicker(symbol, st);
      }
    }
  }, tickMs);

  // ---- replay --------------------------------------------------------------------------
  const waitDrained = async () => {
    for (;;) {
      let max = 0;
      for (const c of conns) max = Math.max(max, c.ws.bufferedAmount);
      if (max <= o.maxBufferedBytes && Date.now() >= stalledUntil) return;
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  const replay = async () => {
    if (o.replayFiles.length === 0) return;
    const start = Date.now();
    let t0 = -1;
    const fileSymbol = new Map<number, string>();
    const early = new Map<string, RecordedDiff[]>();
    let sinceYield = 0;
    for await (const line of mergeRecordings(o.replayFiles)) {
      if (closed) return;
      const json = line.json;
      if (json.startsWith('{"lastUpdateId"')) {
        // The file's own REST snapshot: where its book (and so its replay) begins.
        const snap = JSON.parse(json) as { lastUpdateId: number; bids: WireLevel[]; asks: WireLevel[] };
        const m = /"s":"([A-Z0-9]+)"/.exec(json);
        const symbol = fileSymbol.get(line.file) ?? m?.[1];
        if (!symbol) continue;
        let st = state.get(symbol);
        if (!st) {
          st = { book: new SimBook(), replaying: true, synced: false };
          state.set(symbol, st);
        }
        st.book.load(snap.lastUpdateId, snap.bids, snap.asks);
        // Diffs recorded while the recorder awaited its snapshot: the one straddling it must
        // be applied too, or the book would silently miss its levels.
        for (const d of early.get(symbol) ?? []) {
          if (d.u <= st.book.lastUpdateId) continue;
          st.book.apply(d.b, d.a);
          st.book.lastUpdateId = d.u;
        }
        early.delete(symbol);
        st.synced = true;
        continue;
      }
      const sm = /^\{"stream":"([a-z0-9]+)@([A-Za-z0-9@]+)"/.exec(json);
      if (!sm) continue;
      const symbol = sm[1]!.toUpperCase();
      fileSymbol.set(line.file, symbol);
      let st = state.get(symbol);
      if (!st) {
        st = { book: new SimBook(), replaying: true, synced: false };
        state.set(symbol, st);
      }
      if (!st.synced) {
        if (sm[2]!.startsWith("depth")) {
          const list = early.get(symbol) ?? [];
          list.push((JSON.parse(json) as { data: RecordedDiff }).data);
          early.set(symbol, list);
        }
        continue;
      }
      if (t0 < 0) t0 = line.localNs;
      if (Number.isFinite(o.speed)) {
        const due = start + (line.localNs - t0) / 1e6 / o.speed;
        const wait = due - Date.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      } else if (++sinceYield >= 256) {
        sinceYield = 0;
        await waitDrained();
        await new Promise((r) => setImmediate(r));
      }
      if (Date.now() < stalledUntil) await waitDrained();
      const kind = sm[2]!;
      if (kind.startsWith("depth")) {
        const d = (JSON.parse(json) as { data: RecordedDiff & { pu?: number } }).data;
        if (d.pu !== undefined) st.futures = true;
        if (d.u <= st.book.lastUpdateId) continue;
        if (staleNext.has(symbol)) {
          staleBooks.set(symbol, { id: st.book.lastUpdateId, top: st.book.top(5000) });
          staleNext.delete(symbol);
        }
        st.book.apply(d.b, d.a);
        st.book.lastUpdateId = d.u;
        pushDiff(symbol, json, d.u);
      } else {
        push(`${symbol.toLowerCase()}@${kind}`, json);
      }
    }
    // Recordings are minutes long: carry on synthetically from the final books so a long
    // demo never runs dry and update ids never go backwards.
    for (const [symbol, st] of state) {
      if (st.replaying && !st.synthetic) {
        st.synthetic = new SyntheticBook(symbol, o.seed + hash(symbol), st.book);
        st.book = st.synthetic.book;
      }
    }
    stats.replayDone = true;
    emitter.emit("replayDone");
  };

  // ---- REST ----------------------------------------------------------------------------
  const rest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://x");
    const ip = req.socket.remoteAddress ?? "?";
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json;charset=UTF-8", ...headers });
      res.end(JSON.stringify(body));
    };
    // Spot and USD-M snapshot paths; a USD-M recording replays through the same book.
    const futures = url.pathname === "/fapi/v1/depth";
    if (url.pathname !== "/api/v3/depth" && !futures) return json(404, { code: -1000, msg: "Unknown endpoint." });
    stats.restRequests++;
    const now = Date.now();
    const w = weights.get(ip) ?? { used: [], limited: false, banUntil: 0, bans: 0 };
    weights.set(ip, w);
    w.used = w.used.filter(([t]) => t > now - 60_000);
    const usedNow = w.used.reduce((s, [, x]) => s + x, 0);
    if (now < w.banUntil) {
      stats.rest418++;
      return json(
        418,
        { code: -1003, msg: "Way too many requests; IP banned." },
        { "Retry-After": String(Math.ceil((w.banUntil - now) / 1000)) },
      );
    }
    const limit = Math.min(5000, Math.max(1, Number(url.searchParams.get("limit") ?? 100) || 100));
    const weight = depthWeight(limit, futures);
    if (usedNow + weight > o.restWeightPerMinute) {
      const retryAfterS = Math.max(1, Math.ceil(((w.used[0]?.[0] ?? now) + 60_000 - now) / 1000));
      if (w.limited) {
        // Continuing after a 429 earns an escalating ban, as documented.
        w.banUntil = now + o.banInitialMs * 2 ** w.bans++;
        stats.rest418++;
        return json(
          418,
          { code: -1003, msg: "Way too many requests; IP banned." },
          { "Retry-After": String(Math.ceil((w.banUntil - now) / 1000)) },
        );
      }
      w.limited = true;
      stats.rest429++;
      return json(
        429,
        { code: -1003, msg: "Too many requests." },
        { "Retry-After": String(retryAfterS), "X-MBX-USED-WEIGHT-1M": String(usedNow) },
      );
    }
    w.limited = false;
    w.used.push([now, weight]);
    const headers = { "X-MBX-USED-WEIGHT-1M": String(usedNow + weight) };
    if (refuse > 0) {
      refuse--;
      return json(
        503,
        { code: -1001, msg: "Internal error; unable to process your request. Please try again." },
        headers,
      );
    }
    const symbol = url.searchParams.get("symbol") ?? "";
    const st = state.get(symbol);
    if (!st || !st.synced) return json(400, { code: -1121, msg: "Invalid symbol." }, headers);
    const stale = staleBooks.get(symbol);
    if (stale) {
      staleBooks.delete(symbol);
      return json(
        200,
        { lastUpdateId: stale.id, bids: stale.top.bids.slice(0, limit), asks: stale.top.asks.slice(0, limit) },
        headers,
      );
    }
    const top = st.book.top(limit);
    return json(200, { lastUpdateId: st.book.lastUpdateId, bids: top.bids, asks: top.asks }, headers);
  };

  // ---- WebSocket -----------------------------------------------------------------------
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server = http.createServer(rest);

  const controlReply = (c: Conn, body: unknown) => c.ws.send(JSON.stringify(body));
  const validId = (id: unknown) =>
    id === null ||
    (typeof id === "number" && Number.isInteger(id)) ||
    (typeof id === "string" && /^[A-Za-z0-9]{1,36}$/.test(id));

  const onControl = (c: Conn, text: string) => {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return controlReply(c, { code: 3, msg: "Invalid JSON: expected value at line 1 column 1" });
    }
    if (typeof msg !== "object" || msg === null || Array.isArray(msg))
      return controlReply(c, { code: 3, msg: "Invalid JSON" });
    const m = msg as { method?: unknown; params?: unknown; id?: unknown };
    if (!("id" in m) || !validId(m.id)) {
      return controlReply(c, { code: 2, msg: "Invalid request: request ID must be an unsigned integer" });
    }
    const id = m.id;
    const params = Array.isArray(m.params) ? m.params : [];
    switch (m.method) {
      case "SUBSCRIBE": {
        if (!params.every((p) => typeof p === "string" && STREAM_RE.test(p))) {
          return controlReply(c, { code: 2, msg: "Invalid request: invalid stream", id });
        }
        if (c.streams.size + params.length > o.maxStreamsPerConnection) {
          return controlReply(c, {
            code: 2,
            msg: `Invalid request: too many streams (max ${o.maxStreamsPerConnection})`,
            id,
          });
        }
        for (const p of params as string[]) c.streams.add(p);
        return controlReply(c, { result: null, id });
      }
      case "UNSUBSCRIBE":
        for (const p of params) if (typeof p === "string") c.streams.delete(p);
        return controlReply(c, { result: null, id });
      case "LIST_SUBSCRIPTIONS":
        return controlReply(c, { result: [...c.streams], id });
      case "SET_PROPERTY":
        if (typeof params[0] !== "string")
          return controlReply(c, { code: 2, msg: "Invalid request: property name must be a string" });
        if (params[0] !== "combined") return controlReply(c, { code: 0, msg: "Unknown property", id });
        if (typeof params[1] !== "boolean")
          return controlReply(c, { code: 1, msg: "Invalid value type: expected Boolean" });
        c.combined = params[1];
        return controlReply(c, { result: null, id });
      case "GET_PROPERTY":
        if (typeof params[0] !== "string")
          return controlReply(c, { code: 2, msg: "Invalid request: property name must be a string" });
        if (params[0] !== "combined") return controlReply(c, { code: 0, msg: "Unknown property", id });
        return controlReply(c, { result: c.combined, id });
      default:
        return controlReply(c, {
          code: 2,
          msg: `Invalid request: unknown variant \`${String(m.method)}\`, expected one of \`SUBSCRIBE\`, \`UNSUBSCRIBE\`, \`LIST_SUBSCRIPTIONS\`, \`SET_PROPERTY\`, \`GET_PROPERTY\` at line 1 column 28`,
        });
    }
  };

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
      const c: Conn = { ws, ip, combined, streams: new Set(streams), incoming: [], awaitingPong: false, timers: [] };
      conns.add(c);
      stats.connections++;
      ws.on("message", (data, isBinary) => {
        if (!countIncoming(c)) return;
        if (isBinary) return controlReply(c, { code: 3, msg: "Invalid JSON: expected a text frame" });
        onControl(c, data.toString());
      });
      ws.on("ping", () => countIncoming(c));
      ws.on("pong", () => {
        c.awaitingPong = false;
        countIncoming(c);
      });
      const pinger = setInterval(() => {
        if (c.awaitingPong) return;
        c.awaitingPong = true;
        ws.ping(Buffer.from(String(Date.now())));
        c.timers.push(
          setTimeout(() => {
            if (c.awaitingPong) ws.terminate();
          }, o.pongTimeoutMs),
        );
      }, o.pingIntervalMs);
      c.timers.push(pinger);
      if (o.serverShutdownLeadMs > 0 && o.serverShutdownLeadMs < o.maxConnectionLifetimeMs) {
        c.timers.push(setTimeout(() => sendShutdown(c), o.maxConnectionLifetimeMs - o.serverShutdownLeadMs));
      }
      c.timers.push(setTimeout(() => ws.close(1000, "connection lifetime reached"), o.maxConnectionLifetimeMs));
      ws.on("close", () => {
        conns.delete(c);
        for (const t of c.timers) clearTimeout(t);
      });
      ws.on("error", () => {});
      emitter.emit("connection", { streams: [...c.streams] });
    });
  });

  const sendShutdown = (c: Conn) => {
    const data = `{"e":"serverShutdown","E":${Date.now()}}`;
    c.ws.send(c.combined ? `{"stream":"!serverShutdown","data":${data}}` : data);
  };

  await new Promise<void>((resolve) => server.listen(o.port, o.host, resolve));
  const port = (server.address() as AddressInfo).port;
  const replayDone = replay().catch((err) => emitter.emit("error", err));

  const faults: FaultController = {
    dropNext: (s, count = 1) => drops.set(s, (drops.get(s) ?? 0) + count),
    duplicateNext: (s) => dupes.add(s),
    reorderNext: (s) => reorders.add(s),
    stall: (ms) => {
      stalledUntil = Date.now() + ms;
    },
    disconnectAll: (code = 1001, reason = "going away") => {
      for (const c of conns) c.ws.close(code, reason);
    },
    sendServerShutdown: () => {
      for (const c of conns) sendShutdown(c);
    },
    refuseSnapshots: (count) => {
      refuse += count;
    },
    staleSnapshotNext: (s) => staleNext.add(s),
    injectRaw: (s, text) => {
      const lower = s.toLowerCase();
      for (const c of conns)
        if (c.streams.has(`${lower}@depth@100ms`) || c.streams.has(`${lower}@depth`)) c.ws.send(text);
    },
  };

  return Object.assign(emitter, {
    wsUrl: `ws://${o.host}:${port}`,
    restUrl: `http://${o.host}:${port}`,
    port,
    faults,
    stats: () => ({ ...stats, connections: conns.size }),
    symbols: () => [...state.keys()],
    async close() {
      closed = true;
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

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h >>> 0;
}

export { SYMBOL_SPECS };
