import { fromBinary, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/** Enveloped protocols (gRPC, gRPC-Web, Connect streaming) with binary messages; Connect unary binary is not enveloped. */
const ENVELOPED = /^application\/(grpc|grpc-web|connect)(\+proto)?$/i;
const UNARY_BINARY = /^application\/proto$/i;
const COMPRESSED_FLAG = 0b1;

/**
 * Request bytes that do not decode as the method's input are the client's fault: connect reports
 * them as INTERNAL ("parse binary"), so each uncompressed binary request message is decoded here
 * first and refused as INVALID_ARGUMENT. JSON requests connect already refuses as INVALID_ARGUMENT;
 * compressed ones are left to it. Past `maxBytes` nothing is buffered (connect enforces the limit).
 */
export function checkedRequestBody(
  body: AsyncIterable<Uint8Array>,
  input: DescMessage,
  contentType: string,
  contentEncoding: string | undefined,
  maxBytes: number,
): AsyncIterable<Uint8Array> {
  const type = contentType.split(";")[0]!.trim();
  const enveloped = ENVELOPED.test(type);
  if (!enveloped && !(UNARY_BINARY.test(type) && !contentEncoding)) return body;
  const check = (bytes: Uint8Array) => {
    try {
      fromBinary(input, bytes);
    } catch (err) {
      throw new ConnectError(
        `request is not a valid ${input.typeName}: ${err instanceof Error ? err.message : String(err)}`,
        Code.InvalidArgument,
      );
    }
  };
  return (async function* () {
    let buf = Buffer.alloc(0);
    let passThrough = false;
    for await (const chunk of body) {
      if (passThrough) {
        yield chunk;
        continue;
      }
      buf = buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([buf, chunk]);
      if (buf.length > maxBytes + 5) {
        passThrough = true;
        yield buf;
        continue;
      }
      while (enveloped && buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        const end = 5 + buf.readUInt32BE(1);
        if ((buf[0]! & COMPRESSED_FLAG) === 0) check(buf.subarray(5, end));
        yield buf.subarray(0, end);
        buf = buf.subarray(end);
      }
    }
    if (passThrough) return;
    if (!enveloped) check(buf);
    if (buf.length > 0) yield buf;
  })();
}
