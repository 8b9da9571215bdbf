// The time-travel bench's replaying clients read their streams off the wire: a plain HTTP/2 gRPC
// call whose messages are counted from their bytes (the oneof's field number, a batch's entries),
// not decoded. They stand in for bots on other hosts: decoding every replayed update with
// protobuf-es (~30-50 µs each, thousands per second) on the bench's host would compete with the
// live path the bench measures, and say nothing about the server.
import http2 from "node:http2";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { MarketDataService, StreamMarketUpdatesRequestSchema } from "@quantcore/proto";

/** StreamMarketUpdatesResponse's oneof: update, batch, handover; MarketUpdateBatch.updates. */
const UPDATE = 1;
const BATCH = 4;
const HANDOVER = 6;
const BATCH_UPDATES_TAG = (1 << 3) | 2;

function varint(buf: Buffer, pos: number): [number, number] {
  let n = 0;
  let mul = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const b = buf[pos++]!;
    n += (b & 0x7f) * mul;
    if (b < 0x80) return [n, pos];
    mul *= 128;
  }
}

/** What one StreamMarketUpdatesResponse carries, from its bytes: updates, and whether it is the handover. Pure. */
export function countResponse(msg: Buffer): { updates: number; handover: boolean } {
  if (msg.length === 0) return { updates: 0, handover: false };
  const [tag, afterTag] = varint(msg, 0);
  const field = Math.floor(tag / 8);
  if (field === UPDATE) return { updates: 1, handover: false };
  if (field === HANDOVER) return { updates: 0, handover: true };
  if (field !== BATCH) return { updates: 0, handover: false };
  let [len, pos] = varint(msg, afterTag);
  const end = pos + len;
  let updates = 0;
  while (pos < end) {
    const [t, p] = varint(msg, pos);
    if (t !== BATCH_UPDATES_TAG) throw new Error(`unexpected tag ${t} in a batch`);
    [len, pos] = varint(msg, p);
    pos += len;
    updates++;
  }
  return { updates, handover: false };
}

/**
 * One StreamMarketUpdates call over h2c (gRPC framing), calling `onMessage` per response. Resolves
 * when the server ends it OK or `signal` aborts; rejects with a ConnectError carrying grpc-status.
 */
export function streamCounted(
  baseUrl: string,
  req: MessageInitShape<typeof StreamMarketUpdatesRequestSchema>,
  signal: AbortSignal,
  onMessage: (m: { updates: number; handover: boolean }) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    const method = MarketDataService.method.streamMarketUpdates;
    const stream = session.request({
      ":method": "POST",
      ":path": `/${MarketDataService.typeName}/${method.name}`,
      "content-type": "application/grpc",
      te: "trailers",
    });
    const body = toBinary(StreamMarketUpdatesRequestSchema, create(StreamMarketUpdatesRequestSchema, req));
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    stream.end(frame);
    let pending: Buffer = Buffer.alloc(0);
    let status: { code: number; message: string } | undefined;
    const onStatus = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] === undefined) return;
      status = { code: Number(h["grpc-status"]), message: decodeURIComponent(String(h["grpc-message"] ?? "")) };
    };
    stream.on("response", onStatus); // trailers-only
    stream.on("trailers", onStatus);
    stream.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let pos = 0;
      while (pending.length - pos >= 5) {
        const len = pending.readUInt32BE(pos + 1);
        if (pending.length - pos - 5 < len) break;
        onMessage(countResponse(pending.subarray(pos + 5, pos + 5 + len)));
        pos += 5 + len;
      }
      pending = pending.subarray(pos);
    });
    const abort = () => stream.close(http2.constants.NGHTTP2_CANCEL);
    signal.addEventListener("abort", abort, { once: true });
    stream.on("error", () => {}); // reported through close
    stream.on("close", () => {
      signal.removeEventListener("abort", abort);
      session.close();
      if (signal.aborted || status?.code === 0) resolve();
      else
        reject(
          status
            ? new ConnectError(status.message, status.code as Code)
            : new ConnectError("stream closed without a status", Code.Unavailable),
        );
    });
    session.on("error", () => {}); // the stream closes too
  });
}
