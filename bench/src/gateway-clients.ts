// The bench's gateway clients, run in a worker thread off the publisher's event loop: lean
// raw-protocol readers (frames split and counted); every 10th stream of each protocol also times
// every live update it gets (Redis publish -> receive), reading only the timestamp it needs.
import http2 from "node:http2";
import net from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { nowUs } from "@quantcore/runtime";

export interface ClientsConfig {
  grpcPort: number;
  httpPort: number;
  /** The enveloped StreamMarketUpdatesRequest every stream sends. */
  requestFrame: Uint8Array;
  /** Global stream indexes this thread opens (the protocol mix and sampling follow the index). */
  indexes: number[];
  webPercent: number;
}

export interface ClientsResult {
  /** Redis publish -> client receive, ms, per live update of a timed stream. */
  samples: number[];
  /** The same updates' Redis publish -> gateway send (the fan-out's flush start), ms. */
  gatewaySamples: number[];
  /** Streams that time every live update (so samples / timedStreams = updates one stream got while measuring). */
  timedStreams: number;
  messages: number;
  updatesDecoded: number;
  errors: number;
}

export type ToClients = { kind: "measure"; on: boolean } | { kind: "stop" };

/** Splits a byte stream into gRPC / gRPC-Web / Connect frames (flags byte, 4-byte length, message). */
class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (flags: number, message: Buffer) => void) {}
  push(chunk: Buffer): void {
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 5) {
      const end = 5 + this.buf.readUInt32BE(1);
      if (this.buf.length < end) break;
      this.onFrame(this.buf[0]!, this.buf.subarray(5, end));
      this.buf = this.buf.subarray(end);
    }
  }
}

/** An HTTP/1.1 response: checks the status, then hands on the chunked body's bytes. */
class ChunkedBodyReader {
  private buf: Buffer = Buffer.alloc(0);
  private state: "head" | "size" | "data" | "crlf" = "head";
  private left = 0;
  constructor(private readonly onBody: (chunk: Buffer) => void) {}
  push(chunk: Buffer): void {
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.state === "head") {
        const end = this.buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = this.buf.subarray(0, end).toString("latin1");
        if (!/^HTTP\/1\.1 200/.test(head) || !/transfer-encoding: chunked/i.test(head)) {
          throw new Error(`unexpected response: ${head.split("\r\n")[0]}`);
        }
        this.buf = this.buf.subarray(end + 4);
        this.state = "size";
      } else if (this.state === "size") {
        const end = this.buf.indexOf("\r\n");
        if (end < 0) return;
        this.left = parseInt(this.buf.subarray(0, end).toString("latin1"), 16);
        this.buf = this.buf.subarray(end + 2);
        if (this.left === 0) return; // last chunk: the stream ended
        this.state = "data";
      } else if (this.state === "data") {
        if (this.buf.length === 0) return;
        const take = Math.min(this.left, this.buf.length);
        this.onBody(this.buf.subarray(0, take));
        this.buf = this.buf.subarray(take);
        this.left -= take;
        if (this.left === 0) this.state = "crlf";
      } else {
        if (this.buf.length < 2) return;
        this.buf = this.buf.subarray(2);
        this.state = "size";
      }
    }
  }
}

/** Native gRPC streams, 50 per HTTP/2 connection, as bots' channels multiplex them. */
export function grpcStreams(grpcPort: number, requestFrame: Uint8Array) {
  const sessions: http2.ClientHttp2Session[] = [];
  let opened = 0;
  return {
    open(): http2.ClientHttp2Stream {
      if (opened++ % 50 === 0) {
        const session = http2.connect(`http://127.0.0.1:${grpcPort}`);
        session.on("error", () => {});
        sessions.push(session);
      }
      const s = sessions.at(-1)!.request({
        ":method": "POST",
        ":path": "/quantcore.v1.MarketDataService/StreamMarketUpdates",
        "content-type": "application/grpc",
        te: "trailers",
      });
      s.end(requestFrame);
      s.on("error", () => {});
      return s;
    },
    close(): void {
      for (const s of sessions) s.destroy();
    },
  };
}

/**
 * Each live update's compute_publish_us (and gateway_send_us into `sentUs`), and nothing else, from a
 * StreamMarketUpdatesResponse (field numbers from market_data.proto): a full decode of every timed
 * message was most of the client thread's work, and every stream behind it in the same read waited for it.
 */
export function publishTimesOf(message: Uint8Array, sentUs: number[] = []): number[] {
  const out: number[] = [];
  const update = (bytes: Uint8Array) => {
    const u = new BinaryReader(bytes);
    let snapshot = false;
    let publishedUs = 0;
    let gatewaySendUs = 0;
    while (u.pos < u.len) {
      const [no, wt] = u.tag();
      if (no === 5 && wt === WireType.Varint) snapshot = u.bool();
      else if (no === 4 && wt === WireType.LengthDelimited) {
        const ts = new BinaryReader(u.bytes());
        while (ts.pos < ts.len) {
          const [n, w] = ts.tag();
          if (n === 5 && w === WireType.Bit64) publishedUs = ts.double();
          else if (n === 6 && w === WireType.Bit64) gatewaySendUs = ts.double();
          else ts.skip(w, n);
        }
      } else u.skip(wt, no);
    }
    if (!snapshot && publishedUs > 0) {
      out.push(publishedUs);
      sentUs.push(gatewaySendUs);
    }
  };
  const r = new BinaryReader(message);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === WireType.LengthDelimited) update(r.bytes());
    else if (no === 4 && wt === WireType.LengthDelimited) {
      const batch = new BinaryReader(r.bytes());
      while (batch.pos < batch.len) {
        const [n, w] = batch.tag();
        if (n === 1 && w === WireType.LengthDelimited) update(batch.bytes());
        else batch.skip(w, n);
      }
    } else r.skip(wt, no);
  }
  return out;
}

/** Protocol of global stream `i`: alternating as evenly as the mix allows. */
const isWeb = (i: number, webPercent: number) =>
  Math.floor(((i + 1) * webPercent) / 100) > Math.floor((i * webPercent) / 100);

function openClients(cfg: ClientsConfig) {
  const out: ClientsResult = {
    samples: [],
    gatewaySamples: [],
    timedStreams: 0,
    messages: 0,
    updatesDecoded: 0,
    errors: 0,
  };
  const requestFrame = Buffer.from(cfg.requestFrame);
  let measuring = false;
  let stopping = false;
  const onFrameOf = (sampled: boolean) => (flags: number, message: Buffer) => {
    if (flags !== 0) return; // gRPC-Web trailers
    out.messages++;
    if (!sampled) return;
    const t = nowUs();
    const sentUs: number[] = [];
    const published = publishTimesOf(message, sentUs);
    for (let i = 0; i < published.length; i++) {
      out.updatesDecoded++;
      if (!measuring) continue;
      out.samples.push((t - published[i]!) / 1000);
      out.gatewaySamples.push((sentUs[i]! - published[i]!) / 1000);
    }
  };
  const onEnd = () => {
    if (!stopping) out.errors++;
  };
  const grpc = grpcStreams(cfg.grpcPort, requestFrame);
  const h2Stream = (reader: FrameReader) => {
    const s = grpc.open();
    s.on("data", (c: Buffer) => reader.push(c));
    s.on("close", onEnd);
  };
  // gRPC-Web over HTTP/1.1, as browsers speak it: one socket per stream (a bare socket and a
  // chunked-body reader: node's HTTP client cost more CPU than the gateway on this shared host).
  const sockets: net.Socket[] = [];
  const webStream = (reader: FrameReader) => {
    const socket = net.connect(cfg.httpPort, "127.0.0.1");
    socket.setNoDelay(true);
    socket.write(
      `POST /quantcore.v1.MarketDataService/StreamMarketUpdates HTTP/1.1\r\nHost: 127.0.0.1:${cfg.httpPort}\r\n` +
        `Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: ${requestFrame.length}\r\n\r\n`,
    );
    socket.write(requestFrame);
    const body = new ChunkedBodyReader((c) => reader.push(c));
    socket.on("data", (c: Buffer) => body.push(c));
    socket.on("error", () => {});
    socket.on("close", onEnd);
    sockets.push(socket);
  };
  for (const i of cfg.indexes) {
    const web = isWeb(i, cfg.webPercent);
    // The nth stream of its protocol, globally (streams 0..i-1 hold floor(i * p / 100) web ones): every 10th is timed.
    const webBefore = Math.floor((i * cfg.webPercent) / 100);
    const nth = web ? webBefore : i - webBefore;
    if (nth % 10 === 0) out.timedStreams++;
    const reader = new FrameReader(onFrameOf(nth % 10 === 0));
    if (web) webStream(reader);
    else h2Stream(reader);
  }
  return {
    measure(on: boolean) {
      measuring = on;
    },
    stop(): ClientsResult {
      stopping = true;
      for (const s of sockets) s.destroy();
      grpc.close();
      return out;
    },
  };
}

if (parentPort && (workerData as { kind?: string } | null)?.kind === "gateway-clients") {
  const port = parentPort;
  const clients = openClients((workerData as { config: ClientsConfig }).config);
  port.postMessage({ kind: "ready" });
  port.on("message", (m: ToClients) => {
    if (m.kind === "measure") clients.measure(m.on);
    else {
      port.postMessage(clients.stop());
      port.close();
    }
  });
}
