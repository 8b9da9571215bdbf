import http from "node:http";
import type { AddressInfo } from "node:net";

export interface OpsServerOptions {
  host: string;
  /** 0 = a free port (see `url`). */
  port: number;
  /** The Prometheus exposition (`GET /metrics`). */
  metrics: () => Promise<{ contentType: string; body: string }>;
  /** `GET /readyz`: 200 when true, else 503 (e.g. not connected yet, or stopping). */
  ready: () => boolean;
}

export interface OpsServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The operations listener of a service without an HTTP server of its own (ingest, compute):
 * `GET /metrics`, `GET /healthz` (the process answers) and `GET /readyz` (it does its job).
 */
export async function serveOps(o: OpsServerOptions): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const url = req.url?.split("?")[0];
    if (req.method !== "GET") return void res.writeHead(405).end();
    if (url === "/healthz") return void res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    if (url === "/readyz") {
      const ready = o.ready();
      return void res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ready" : "not ready");
    }
    if (url === "/metrics") {
      o.metrics().then(
        (m) => res.writeHead(200, { "content-type": m.contentType }).end(m.body),
        (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(String(err)),
      );
      return;
    }
    res.writeHead(404).end();
  });
  server.keepAliveTimeout = 65_000; // longer than Prometheus's scrape interval: reuse its connection
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  return {
    url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
