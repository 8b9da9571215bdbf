import type http from "node:http";
import type http2 from "node:http2";
import type net from "node:net";
import type { DirectSink } from "./direct-drain.js";
import type { SharedFrame } from "./encoding.js";

/**
 * An HTTP/2 stream as the fan-out's direct sink: frames go to the stream once connect has sent
 * the response headers. Classes, not closures: one shape for every stream, checked on every tick.
 */
export class H2Sink implements DirectSink {
  private headersOut = false;
  constructor(
    private readonly res: http2.Http2ServerResponse,
    private readonly stream: http2.ServerHttp2Stream,
  ) {}

  open(): boolean {
    if (!this.headersOut) this.headersOut = this.res.headersSent;
    return this.headersOut && !this.stream.closed && !this.res.writableEnded;
  }

  ready(): boolean {
    return this.open() && !this.stream.writableNeedDrain;
  }

  write(frame: SharedFrame): boolean {
    return this.stream.write(frame.bytes);
  }

  drained(signal: AbortSignal): Promise<void> {
    return drainedOrClosed(this.stream, signal);
  }
}

/**
 * An HTTP/1.1 response as the fan-out's direct sink: frames go to the socket as ready-made
 * chunks, once the response is chunked, its headers are out and nothing of its own is still
 * queued ahead of them (so the order holds).
 */
export class H1Sink implements DirectSink {
  private headersOut = false;
  constructor(
    private readonly res: http.ServerResponse,
    private readonly socket: net.Socket,
  ) {}

  open(): boolean {
    if (!this.headersOut) this.headersOut = this.res.headersSent && this.res.chunkedEncoding;
    return (
      this.headersOut &&
      !this.res.writableEnded &&
      !this.socket.destroyed &&
      this.res.writableLength === this.socket.writableLength
    );
  }

  ready(): boolean {
    return !this.socket.writableNeedDrain && this.open();
  }

  write(frame: SharedFrame): boolean {
    return this.socket.write(frame.httpChunk());
  }

  drained(signal: AbortSignal): Promise<void> {
    return drainedOrClosed(this.socket, signal);
  }
}

/** Resolves on the transport's next 'drain' or 'close' (or at once when it has room), or on abort. */
function drainedOrClosed(
  w: NodeJS.EventEmitter & { writableNeedDrain: boolean; destroyed: boolean },
  signal: AbortSignal,
): Promise<void> {
  if (!w.writableNeedDrain || w.destroyed || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      w.off("drain", done);
      w.off("close", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    w.once("drain", done);
    w.once("close", done);
    signal.addEventListener("abort", done, { once: true });
  });
}
