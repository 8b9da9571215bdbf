import net from "node:net";
import tls from "node:tls";

const KEEP_ALIVE_DELAY_MS = 60_000;

/**
 * A kafkajs `socketFactory` that turns Nagle's algorithm off. kafkajs's own factory leaves it
 * on, so a small request written while an earlier segment is unacknowledged waits for the
 * peer's (delayed) ACK: tens of milliseconds added to produce and fetch round trips. Otherwise
 * the same as kafkajs's default (TLS with SNI for host names, TCP keep-alive).
 */
export function noDelaySocketFactory({
  host,
  port,
  ssl,
  onConnect,
}: {
  host: string;
  port: number;
  ssl: tls.ConnectionOptions | boolean | undefined;
  onConnect: () => void;
}): net.Socket {
  const socket = ssl
    ? tls.connect({ host, port, ...(!net.isIP(host) ? { servername: host } : {}), ...(ssl === true ? {} : ssl) }, onConnect)
    : net.connect({ host, port, noDelay: true }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
  return socket;
}
