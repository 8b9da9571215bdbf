// The floor under the gateway bench: what node itself costs to write one frame to one stream,
// with nothing of the gateway around it. HTTP/1.1 (gRPC-Web): one socket.write per stream per
// tick; HTTP/2 (gRPC): one stream.write per stream per tick, 50 streams per session. The readers
// run in another process, as the bench's clients do. Prints CPU-microseconds per write and what
// that alone costs per million deliveries at the gateway bench's shape (300 updates/s in 100
// ticks/s, 1,000 streams half each protocol, so each write carries 3 deliveries).
// Usage: npm run gateway-floor -w @quantcore/bench  [BENCH_SECONDS=10]
import { fork } from "node:child_process";
import net from "node:net";
import { EnvReader, sleep } from "@quantcore/runtime";
import { connectSockets, h2StreamServer, openH2Streams } from "./floor-streams.js";

const STREAMS_PER_PROTOCOL = 500;
const FRAME_BYTES = 700; // a 3-update batch frame, as the bench's ticks carry
const TICKS_PER_SECOND = 100;
const UPDATES_PER_SECOND = 300;

/** Writes one frame to every stream per tick for `seconds`; returns CPU-microseconds per write. */
async function measure(streams: { write(b: Buffer): boolean }[], seconds: number): Promise<number> {
  const frame = Buffer.alloc(FRAME_BYTES, 1);
  await sleep(1000);
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  let writes = 0;
  while (Date.now() - t0 < seconds * 1000) {
    for (const s of streams) s.write(frame);
    writes += streams.length;
    await sleep(1000 / TICKS_PER_SECOND);
  }
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / writes;
}

async function http1(seconds: number): Promise<number> {
  const reader = fork(import.meta.filename, ["reader-h1"], { execArgv: process.execArgv });
  const port = await new Promise<number>((r) => reader.once("message", (p) => r(p as number)));
  const sockets = await connectSockets(port, STREAMS_PER_PROTOCOL);
  try {
    return await measure(sockets, seconds);
  } finally {
    sockets.forEach((s) => s.destroy());
    reader.kill();
  }
}

async function http2Streams(seconds: number): Promise<number> {
  const server = await h2StreamServer();
  const client = fork(import.meta.filename, ["client-h2", String(server.port)], { execArgv: process.execArgv });
  try {
    await server.opened(STREAMS_PER_PROTOCOL);
    return await measure(server.streams, seconds);
  } finally {
    client.kill();
    server.close();
  }
}

const role = process.argv[2];
if (role === "reader-h1") {
  const server = net.createServer((s) => s.on("data", () => {}));
  server.listen(0, "127.0.0.1", () => process.send!((server.address() as net.AddressInfo).port));
} else if (role === "client-h2") {
  openH2Streams(Number(process.argv[3]), STREAMS_PER_PROTOCOL, () => () => {});
} else {
  const env = new EnvReader();
  const seconds = env.int("BENCH_SECONDS", 10, { min: 2 });
  env.done();
  const h1Us = await http1(seconds);
  const h2Us = await http2Streams(seconds);
  const perMillion =
    ((h1Us + h2Us) * STREAMS_PER_PROTOCOL * TICKS_PER_SECOND) / (UPDATES_PER_SECOND * 2 * STREAMS_PER_PROTOCOL);
  console.log(
    JSON.stringify({
      cpuUsPerHttp1SocketWrite: Math.round(h1Us * 100) / 100,
      cpuUsPerHttp2StreamWrite: Math.round(h2Us * 100) / 100,
      floorCpuSecondsPerMillionDeliveriesAtGatewayBenchShape: Math.round(perMillion * 100) / 100,
    }),
  );
  process.exit(0);
}
