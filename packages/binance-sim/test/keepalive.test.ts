// Keep-alive as Binance documents it: every ping has its own pong deadline; a pong carrying a
// ping's payload answers it (and older ones); unsolicited pongs answer nothing.
import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { waitFor } from "@quantcore/runtime";
import { PongTracker, startBinanceSim } from "../src/index.js";

test("PongTracker: a pong answers its ping and older ones; unknown or empty pongs answer nothing", () => {
  const t = new PongTracker(1000);
  const p1 = t.ping(0);
  const p2 = t.ping(400);
  const p3 = t.ping(800);
  assert.equal(t.pong(Buffer.alloc(0)), 0, "an empty (unsolicited) pong");
  assert.equal(t.pong(Buffer.from("nonsense")), 0);
  assert.equal(t.overdue(999), false);
  assert.equal(t.overdue(1000), true, "the first ping's own deadline");
  assert.equal(t.pong(p2), 2, "answers ping 2 and the older ping 1");
  assert.equal(t.isPending(p1), false);
  assert.equal(t.isPending(p3), true);
  assert.equal(t.overdue(1500), false, "ping 3 is due at 1800");
  assert.equal(t.nextDeadline(), 1800);
  assert.equal(t.pong(p2), 0, "a repeated pong answers nothing");
  assert.equal(t.pong(p3), 1);
  assert.equal(t.pending, 0);
});

test("a client that answers every ping late (but in time) stays connected across many ping intervals", async () => {
  // pongTimeout > pingInterval and every pong sent 250 ms after its ping: a new ping is always
  // outstanding when an older ping's deadline passes, which a shared 'awaiting pong' flag took
  // for a missed pong.
  const s = await startBinanceSim({
    syntheticSymbols: ["SOLUSDT"],
    pingIntervalMs: 100,
    pongTimeoutMs: 2_000,
    maxIncomingMessagesPerSecond: 100,
  });
  const ws = new WebSocket(`${s.wsUrl}/ws/solusdt@depth`, { autoPong: false });
  let closed: number | undefined;
  ws.on("close", (code) => (closed = code));
  let pongs = 0;
  ws.on("ping", (payload) => {
    setTimeout(() => {
      if (ws.readyState !== ws.OPEN) return;
      ws.pong(payload);
      pongs++;
    }, 250);
  });
  try {
    await waitFor(() => pongs >= 30 || closed !== undefined, "30 pongs", { timeoutMs: 60_000 });
    assert.equal(closed, undefined, `disconnected after ${pongs} pongs`);
    assert.equal(s.stats().connections, 1);
  } finally {
    ws.terminate();
    await s.close();
  }
});

test("pongs without the ping's payload (unsolicited) do not keep a connection alive", async () => {
  // The client answers every ping at once, but with an empty pong: Binance still disconnects it.
  const s = await startBinanceSim({ syntheticSymbols: ["SOLUSDT"], pingIntervalMs: 300, pongTimeoutMs: 1_000 });
  const ws = new WebSocket(`${s.wsUrl}/ws/solusdt@depth`, { autoPong: false });
  let pings = 0;
  ws.on("ping", () => {
    pings++;
    if (ws.readyState === ws.OPEN) ws.pong();
  });
  const closed = new Promise<void>((resolve) => ws.on("close", () => resolve()));
  try {
    await waitFor(() => ws.readyState === ws.CLOSED, "the server closes the connection", { timeoutMs: 30_000 });
    await closed;
    assert.ok(pings >= 1);
  } finally {
    ws.terminate();
    await s.close();
  }
});
