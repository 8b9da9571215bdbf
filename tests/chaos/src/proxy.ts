// An in-process TCP proxy that can stop forwarding: a network stall between two processes
// without root or iptables. While stalled, bytes are held (not dropped) in both directions and
// counted; connections stay open, as with a network partition that heals before TCP gives up.
import net from "node:net";

export interface ProxyCounters {
  connections: number;
  forwarded: number;
  /** Bytes that arrived while stalled (delivered on resume). */
  heldBack: number;
  /** Bytes forwarded while stalled: 0 when the stall works. */
  forwardedWhileStalled: number;
}

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private stalled = false;
  private readonly held: Array<() => void> = [];
  readonly counters: ProxyCounters = { connections: 0, forwarded: 0, heldBack: 0, forwardedWhileStalled: 0 };

  constructor(
    readonly listenPort: number,
    private readonly target: { host: string; port: number },
  ) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.listenPort, "127.0.0.1", () => resolve());
    });
  }

  private accept(client: net.Socket): void {
    this.counters.connections++;
    const upstream = net.connect(this.target);
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.on("close", () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
      s.on("error", () => {});
    }
    const pipe = (from: net.Socket, to: net.Socket) =>
      from.on("data", (chunk: Buffer) => {
        const send = () => {
          if (this.stalled) this.counters.forwardedWhileStalled += chunk.length;
          this.counters.forwarded += chunk.length;
          if (!to.destroyed) to.write(chunk);
        };
        if (this.stalled) {
          this.counters.heldBack += chunk.length;
          this.held.push(send);
        } else send();
      });
    pipe(client, upstream);
    pipe(upstream, client);
  }

  /** Stops forwarding (both directions); nothing is dropped. */
  stall(): void {
    this.stalled = true;
  }

  /** Forwards what was held, in order, then everything as before. */
  resume(): void {
    this.stalled = false;
    for (const send of this.held.splice(0)) send();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
