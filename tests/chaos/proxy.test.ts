// The stall proxy: while stalled nothing is forwarded (bytes are held and counted), on resume
// everything held arrives, in order.
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { waitFor } from "@quantcore/runtime";
import { freePort } from "@quantcore/stack";
import { TcpProxy } from "./src/proxy.js";

test("TcpProxy forwards, holds everything while stalled, and delivers it in order on resume", async () => {
  let received = "";
  const echo = net.createServer((s) => s.on("data", (d) => (received += d.toString())));
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", () => resolve()));
  const port = (echo.address() as net.AddressInfo).port;
  const proxy = new TcpProxy(await freePort(), { host: "127.0.0.1", port });
  await proxy.start();
  const client = net.connect({ port: proxy.listenPort, host: "127.0.0.1" });
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  try {
    client.write("a");
    await waitFor(() => received === "a", "forwarded", { timeoutMs: 10_000 });
    proxy.stall();
    client.write("b");
    client.write("c");
    await waitFor(() => proxy.counters.heldBack === 2, "held", { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(received, "a");
    proxy.resume();
    await waitFor(() => received === "abc", "delivered on resume", { timeoutMs: 10_000 });
    assert.equal(proxy.counters.forwardedWhileStalled, 0);
  } finally {
    client.destroy();
    await proxy.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  }
});
