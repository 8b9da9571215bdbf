import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, cors as connectCors, createConnectRouter, createContextValues } from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { ControlService } from "@quantcore/proto";
import { QuantCoreError, createLogger, settlesWithin } from "@quantcore/runtime";
import { authInterceptor } from "./auth.js";
import { controlPlane } from "./control.js";
import { SlidingLatency } from "./latency.js";
import { createMarketData } from "./market-data.js";
import { createMetrics } from "./metrics.js";
import { checkedRequestBody } from "./request-check.js";
import { DEFAULT_GATEWAY_OPTIONS, type GatewayOptions } from "./options.js";
import { requestTransport, type RequestTransport } from "./service.js";
import { H1Sink, H2Sink } from "./sinks.js";
import { RedisStateStore } from "./state-store.js";

const log = createLogger("gateway");

export interface Gateway {
  /** h2c: native gRPC (bots). */
  grpcUrl: string;
  /** HTTP/1.1: gRPC-Web and Connect (browsers), /metrics, /healthz, /readyz. */
  httpUrl: string;
  clientCount(): number;
  close(): Promise<void>;
}

const ALLOW_METHODS = connectCors.allowedMethods.join(", ");
// Authorization carries the control plane's bearer token.
const ALLOW_HEADERS = [...connectCors.allowedHeaders, "Authorization"].join(", ");
const EXPOSE_HEADERS = connectCors.exposedHeaders.join(", ");

export async function createGateway(partial: Partial<GatewayOptions> & { redisUrl: string }): Promise<Gateway> {
  const opts: GatewayOptions = { ...DEFAULT_GATEWAY_OPTIONS, ...partial };
  const redis = new Redis(opts.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on("error", (err: Error) => log.warn("redis error", { err: err.message }));
  const metrics = createMetrics();
  const latency = new SlidingLatency(60);
  const onRejected = (contract: string) => metrics.rejectedContracts.inc({ contract });
  const store = new RedisStateStore(redis, opts.redisUrl, opts.redisNamespace);
  const marketData = createMarketData({ opts, store, metrics, latency, onRejected });
  try {
    await redis.connect();
    await marketData.start();
  } catch (err) {
    redis.disconnect();
    throw QuantCoreError.infra("gateway redis connect", err);
  }

  /** The transport of one request: who it is, how to end it, and the fan-out's direct sink. */
  const transportOf = (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ): RequestTransport => {
    const peer = req.socket.remoteAddress ?? "?";
    if ("stream" in req) {
      const stream = req.stream;
      return {
        peer,
        // gRPC maps RST_STREAM ENHANCE_YOUR_CALM to RESOURCE_EXHAUSTED.
        kill: () => !stream.destroyed && stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM),
        sink: new H2Sink(res as http2.Http2ServerResponse, stream),
      };
    }
    const socket = req.socket;
    return { peer, kill: () => socket.destroy(), sink: new H1Sink(res as http.ServerResponse, socket) };
  };
  const control = controlPlane({
    opts,
    redis,
    latency,
    clientCount: () => marketData.clientCount(),
    onRejected,
    unknownSymbols: (symbols) => marketData.unknownSymbols(symbols),
  });
  const router = createConnectRouter({
    interceptors: [authInterceptor({ operators: opts.operatorTokens, bots: opts.botTokens })],
    readMaxBytes: opts.readMaxBytes,
    // GATEWAY_COMPRESS_MIN_BYTES takes effect only with an encoding to offer (off by default).
    acceptCompression: opts.compressMinBytes < Number.MAX_SAFE_INTEGER ? [compressionGzip, compressionBrotli] : [],
    compressMinBytes: opts.compressMinBytes,
    grpc: true,
    grpcWeb: true,
    connect: true,
  });
  marketData.routes(router);
  router.service(ControlService, control);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  // connectNodeAdapter, with the request's transport in the context and failures through our
  // log: its console.error printed a stack for every lagging client ended on purpose, and a
  // burst of those (written synchronously) stalled every other stream.
  const handler = (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ) => {
    const h = handlers.get(req.url?.split("?", 2)[0] ?? "");
    if (!h) {
      res.writeHead(404).end();
      return;
    }
    let killed = false;
    const transport = transportOf(req, res);
    const values = createContextValues().set(requestTransport, {
      ...transport,
      kill: () => {
        killed = true;
        transport.kill();
      },
    });
    const uReq = universalRequestFromNodeRequest(req, res, undefined, values);
    // Undecodable request bytes are the client's fault: INVALID_ARGUMENT, not connect's INTERNAL.
    uReq.body = checkedRequestBody(
      uReq.body as AsyncIterable<Uint8Array>,
      h.method.input,
      uReq.header.get("content-type") ?? "",
      uReq.header.get("content-encoding") ?? undefined,
      opts.readMaxBytes,
    );
    h(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((reason: unknown) => {
        // Ended by us for lagging (counted), or the client went away: nothing to report.
        if (killed || ConnectError.from(reason).code === Code.Aborted) return;
        log.warn("rpc failed", {
          method: h.method.name,
          err: reason instanceof Error ? reason.message : String(reason),
        });
      });
  };

  // Browsers cannot speak cleartext HTTP/2, so there are two listeners sharing one set of
  // handlers: h2c for bots (native gRPC) and HTTP/1.1 for browsers (gRPC-Web, Connect).
  const h2 = http2.createServer(handler);
  const h1 = http.createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      // Unknown origins get no allow-origin header, so the browser refuses the response.
      if (opts.corsAllowedOrigins.includes(origin) || opts.corsAllowedOrigins.includes("*")) {
        res.setHeader("Access-Control-Allow-Origin", origin);
        res.setHeader("Vary", "Origin");
        res.setHeader("Access-Control-Expose-Headers", EXPOSE_HEADERS);
      }
      if (req.method === "OPTIONS") {
        if (res.hasHeader("Access-Control-Allow-Origin")) {
          res.setHeader("Access-Control-Allow-Methods", ALLOW_METHODS);
          res.setHeader("Access-Control-Allow-Headers", ALLOW_HEADERS);
          res.setHeader("Access-Control-Max-Age", "7200");
        }
        res.writeHead(204).end();
        return;
      }
    }
    if (req.url === "/metrics" && req.method === "GET") {
      void metrics.registry
        .metrics()
        .then((body) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body));
      return;
    }
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      return;
    }
    if (req.url === "/readyz") {
      // Ready: Redis (state, heartbeats, commands) answers and the gateway is not stopping.
      const ready = redis.status === "ready" && !closed;
      res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ready" : "not ready");
      return;
    }
    handler(req, res);
  });

  const listen = (srv: http.Server | http2.Http2Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(port, opts.host, () => resolve((srv.address() as AddressInfo).port));
    });
  const grpcPort = await listen(h2, opts.grpcPort);
  const httpPort = await listen(h1, opts.httpPort);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });

  let closed = false;
  return {
    grpcUrl: `http://${opts.host}:${grpcPort}`,
    httpUrl: `http://${opts.host}:${httpPort}`,
    clientCount: () => marketData.clientCount(),
    async close() {
      if (closed) return;
      closed = true;
      // Stop accepting, let streams end cleanly, then force what is left.
      const done = Promise.all([
        new Promise<void>((r) => h2.close(() => r())),
        new Promise<void>((r) => h1.close(() => r())),
      ]);
      for (const s of sessions) s.close();
      marketData.endStreams(new QuantCoreError("unavailable", "gateway shutting down", { retriable: true }));
      h1.closeIdleConnections();
      if (!(await settlesWithin(done, opts.shutdownTimeoutMs))) {
        for (const s of sessions) s.destroy();
        h1.closeAllConnections();
        // A connection opened mid-shutdown can keep a listener's close callback waiting forever:
        // past the forced close, carry on regardless so shutdown always ends.
        await settlesWithin(done, 1_000);
      }
      await control.close();
      await marketData.close();
      redis.disconnect();
    },
  };
}
