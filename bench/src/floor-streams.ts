// The plain-node streams the gateway floors write to: HTTP/1.1 sockets (one per stream, as gRPC-Web
// clients connect) and HTTP/2 streams (`STREAMS_PER_SESSION` per session, as the gateway bench's gRPC
// clients connect). No gateway, no framing: what node itself costs and gives.
import http2 from "node:http2";
import net from "node:net";
import { waitFor } from "@quantcore/runtime";

export const STREAMS_PER_SESSION = 50;

/** `count` sockets to 127.0.0.1:`port`, Nagle off, once all are connected. */
export function connectSockets(port: number, count: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Socket>((r) =>
          net.connect(port, "127.0.0.1", function (this: net.Socket) {
            this.setNoDelay(true);
            r(this);
          }),
        ),
    ),
  );
}

/** An HTTP/2 server that answers every stream 200 and keeps it open for writing. */
export async function h2StreamServer() {
  const streams: http2.ServerHttp2Stream[] = [];
  const server = http2.createServer();
  server.on("stream", (s) => {
    s.respond({ ":status": 200 });
    streams.push(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    streams,
    /** Resolves once `count` streams are open. */
    opened: (count: number) =>
      waitFor(() => streams.length >= count, "http/2 streams open", { timeoutMs: 30_000, intervalMs: 50 }),
    close: () => server.close(),
  };
}

/** Client side: `count` streams to `port`, `STREAMS_PER_SESSION` per session; `onData` per stream. */
export function openH2Streams(port: number, count: number, onData: (i: number) => (chunk: Buffer) => void): void {
  let i = 0;
  for (let s = 0; s < count / STREAMS_PER_SESSION; s++) {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    for (let j = 0; j < STREAMS_PER_SESSION; j++) {
      const req = session.request({ ":method": "POST", ":path": "/" });
      req.on("data", onData(i++));
      req.end();
    }
  }
}
