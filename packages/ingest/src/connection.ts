import WebSocket from "ws";
import { backoffDelayMs, createLogger, nowUs } from "@quantcore/runtime";

const log = createLogger("ingest.ws");

export interface StreamConnectionOptions {
  url: string;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  onFrame: (text: string, receiveUs: number) => void;
  /** Called on every (re)connect: books must be rebuilt, since frames were missed while down. */
  onOpen: () => void;
  onDown: (reason: string) => void;
}

/**
 * One combined-stream WebSocket with reconnects (exponential backoff, full jitter). `ws`
 * answers every ping with a pong carrying the same payload, as Binance requires.
 */
export class StreamConnection {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  readonly stats = { connects: 0, reconnects: 0, frames: 0 };

  constructor(private readonly opts: StreamConnectionOptions) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Drops the socket and reconnects (e.g. after serverShutdown). */
  recycle(reason: string): void {
    log.info("recycling connection", { reason });
    this.ws?.terminate();
  }

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

  private open(): void {
    // Oversize frames are rejected by the parser (counted, dead-lettered), not by tearing
    // down a connection that carries every other symbol too.
    const ws = new WebSocket(this.opts.url, { perMessageDeflate: false, maxPayload: 64 << 20 });
    this.ws = ws;
    ws.on("open", () => {
      this.stats.connects++;
      if (this.stats.connects > 1) this.stats.reconnects++;
      log.info("connected", { url: this.opts.url.slice(0, 200) });
      this.opts.onOpen();
    });
    ws.on("message", (data, isBinary) => {
      const receiveUs = nowUs();
      this.stats.frames++;
      this.attempt = 0;
      this.opts.onFrame(isBinary ? "" : data.toString(), receiveUs);
    });
    ws.on("error", (err) => log.warn("socket error", { err: err.message }));
    ws.on("close", (code, reason) => {
      if (this.ws !== ws) return;
      this.opts.onDown(`closed ${code} ${reason.toString()}`);
      if (this.stopped) return;
      const delayMs = backoffDelayMs(this.attempt++, {
        initialDelayMs: this.opts.reconnectInitialDelayMs,
        maxDelayMs: this.opts.reconnectMaxDelayMs,
        multiplier: 2,
      });
      log.warn("disconnected; reconnecting", { code, reason: reason.toString(), delayMs });
      this.reconnectTimer = setTimeout(() => this.open(), delayMs);
    });
  }
}
