import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { createKafka, fixKafkajsIdleTimer } from "../src/index.js";

// kafkajs's own request queue, driven directly (no broker): what its timer does is the subject.
interface Queue {
  pending: unknown[];
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  push(r: { entry: { correlationId: number }; expectResponse: boolean; sendRequest: () => void }): void;
  checkPendingRequests(): void;
}
const RequestQueue = createRequire(import.meta.url)("kafkajs/src/network/requestQueue/index.js") as new (
  o: object,
) => Queue;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const queue = () =>
  new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: "test",
    broker: "localhost:9092",
    logger: quiet,
    isConnected: () => true,
  });
const request = (correlationId: number) => ({
  entry: { correlationId, apiKey: 0, apiName: "Produce", apiVersion: 3 },
  expectResponse: true,
  sendRequest: () => {},
});
const clear = (q: Queue) => {
  if (q.throttleCheckTimeoutId) clearTimeout(q.throttleCheckTimeoutId);
  q.throttleCheckTimeoutId = null;
};

test("kafkajs re-arms its pending-request check with nothing pending (the bug the fix is for)", () => {
  // Run before the fix is applied in this process: node --test runs a file's tests in order.
  const q = queue();
  q.checkPendingRequests();
  const armed = q.throttleCheckTimeoutId !== null;
  clear(q);
  assert.equal(armed, true, "kafkajs no longer re-arms an idle check: the fix in kafka-client.ts may go");
});

test("with the fix, an idle queue arms no timer, and a waiting request still gets its check", () => {
  assert.equal(fixKafkajsIdleTimer(), true);
  const q = queue();
  q.checkPendingRequests();
  assert.equal(q.throttleCheckTimeoutId, null, "an idle check must not re-arm itself");
  q.push(request(1)); // sent at once (in flight)
  q.push(request(2)); // past the in-flight limit of 1: waits in `pending`
  assert.equal(q.pending.length, 1);
  assert.notEqual(q.throttleCheckTimeoutId, null, "a pending request must have its check scheduled");
  clear(q);
});

test("createKafka applies the fix and keeps the caller's settings", () => {
  const kafka = createKafka({ clientId: "test", brokers: ["localhost:9092"] });
  assert.equal(typeof kafka.producer, "function");
  assert.equal(fixKafkajsIdleTimer(), true);
});
