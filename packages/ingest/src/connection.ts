import WebSocket from "ws";
import { backoffDelayMs, createLogger, nowUs } from "@quantcore/runtime";
import type { RollingWindowLimit } from "./limits.js";

const log = createLogger("ingest.ws");

export interface StreamConnectionOptions {
  url: string;
  /** A label for logs and for telling overlapping connections apart. */
  name: string;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  /** Shared by every connection of the shard: Binance limits attempts per IP. */
  attempts: RollingWindowLimit;
  onFrame: (text: string, receiveUs: number, conn: StreamConnection) => void;
  /** Every (re)connect. After a reconnect frames were missed: books must be rebuilt. */
  onOpen: (conn: StreamConnection, reconnect: boolean) => void;
  onDown: (conn: StreamConnection, reason: string) => void;
}

/**
 * One combined-stream WebSocket with reconnects (exponential backoff, full jitter, and the
 * shard's connection-attempt budget). `ws` answers every ping with a pong carrying the same
 * payload, as Binance requires; the client sends nothing else, so it stays far below Binance's
 * 5 incoming messages/s (a ping every 20 s means one pong every 20 s).
 */
export class StreamConnection {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  readonly stats = { connects: 0, reconnects: 0, frames: 0 };

  constructor(private readonly opts: StreamConnectionOptions) {}

  get name(): string {
    return this.opts.name;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Closes for good: no reconnect. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once("close", () => resolve());
      ws.close(1000);
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000).unref();
    });
  }

  private schedule(backoffMs: number): void {
    const budgetMs = this.opts.attempts.delayMs();
    const delayMs = Math.max(backoffMs, budgetMs);
    if (budgetMs > backoffMs) log.warn("connection attempt budget spent; waiting", { name: this.name, delayMs });
    this.reconnectTimer = setTimeout(() => {
      if (this.stopped) return;
      // Re-check: another connection of the shard may have used the slot meanwhile.
      if (this.opts.attempts.delayMs() > 0) return this.schedule(0);
      this.opts.attempts.take();
      this.open();
    }, delayMs);
  }

  private open(): void {
    // Oversize frames are rejected by the parser (counted, dead-lettered), not by tearing
    // down a connection that carries every other symbol too.
    const ws = new WebSocket(this.opts.url, { perMessageDeflate: false, maxPayload: 64 << 20 });
    this.ws = ws;
    ws.on("open", () => {
      if (this.ws !== ws) return;
      this.stats.connects++;
      const reconnect = this.stats.connects > 1;
      if (reconnect) this.stats.reconnects++;
      log.info("connected", { name: this.name, url: this.opts.url.slice(0, 200) });
      this.opts.onOpen(this, reconnect);
    });
    ws.on("message", (data, isBinary) => {
      const receiveUs = nowUs();
      this.stats.frames++;
      this.attempt = 0;
      this.opts.onFrame(isBinary ? "" : data.toString(), receiveUs, this);
    });
    ws.on("error", (err) => log.warn("socket error", { name: this.name, err: err.message }));
    ws.on("close", (code, reason) => {
      if (this.ws !== ws) return;
      this.opts.onDown(this, `closed ${code} ${reason.toString()}`);
      if (this.stopped) return;
      const delayMs = backoffDelayMs(this.attempt++, {
        initialDelayMs: this.opts.reconnectInitialDelayMs,
        maxDelayMs: this.opts.reconnectMaxDelayMs,
        multiplier: 2,
      });
      log.warn("disconnected; reconnecting", { name: this.name, code, reason: reason.toString(), delayMs });
      this.schedule(delayMs);
    });
  }
}
