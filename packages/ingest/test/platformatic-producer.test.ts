// The @platformatic/kafka side of the order-book producer's seam: its records built from kafkajs's
// message shape, and its errors read as produce-errors.ts reads kafkajs's (the errors below are the
// library's own classes, built as it builds them on a broker's answer).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  MultipleErrors,
  NetworkError,
  ProtocolError,
  ResponseError,
  TimeoutError,
  UserError,
} from "@platformatic/kafka";
import { toPlatformaticMessage } from "../src/platformatic-producer.js";
import { classifyProduceError } from "../src/produce-errors.js";

const PRODUCE_API = 0;
/** The broker's answer to a produce request with `code` on one partition, as the library raises it. */
const partitionRefused = (code: number) =>
  new ResponseError(PRODUCE_API, 9, { "/responses/0/partitionResponses/0": [code, null] }, {});

test("classifies @platformatic/kafka errors as kafkajs's: record-level refusals, batch-wide refusals, the rest retriable", () => {
  const cases: Array<[unknown, ReturnType<typeof classifyProduceError>]> = [
    [partitionRefused(10), { retriable: false, scope: "record", reason: "MESSAGE_TOO_LARGE" }],
    [partitionRefused(18), { retriable: false, scope: "record", reason: "RECORD_LIST_TOO_LARGE" }],
    [partitionRefused(87), { retriable: false, scope: "record", reason: "INVALID_RECORD" }],
    // canRetry is true for a CRC failure, but a record we encoded is refused every time.
    [partitionRefused(2), { retriable: false, scope: "record", reason: "CORRUPT_MESSAGE" }],
    [partitionRefused(29), { retriable: false, scope: "batch", reason: "TOPIC_AUTHORIZATION_FAILED" }],
    [partitionRefused(21), { retriable: false, scope: "batch", reason: "INVALID_REQUIRED_ACKS" }],
    [partitionRefused(6), { retriable: true }], // NOT_LEADER_OR_FOLLOWER
    [partitionRefused(7), { retriable: true }], // REQUEST_TIMED_OUT
    [new ProtocolError("NOT_ENOUGH_REPLICAS"), { retriable: true }],
    // Its retrier's give-up: every attempt's error, aggregated.
    [
      new MultipleErrors("Producing messages failed.", [
        new NetworkError("Connection closed"),
        new NetworkError("Connection closed"),
      ]),
      { retriable: true },
    ],
    // A timeout says canRetry: false (the library's own retrier), but the broker may answer later.
    [new TimeoutError("Request timed out"), { retriable: true }],
    [new NetworkError("Client is closed.", { closed: true }), { retriable: true }],
    [
      new UserError("Failed to serialize a message.", { cause: new TypeError("bad value") }),
      { retriable: false, scope: "record", reason: "ENCODING" },
    ],
    [
      new UserError("/options/messages/0/value must be a Buffer"),
      { retriable: false, scope: "record", reason: "ENCODING" },
    ],
    [new Error("anything else"), { retriable: true }],
  ];
  for (const [err, want] of cases) assert.deepEqual(classifyProduceError(err), want, String(err));
});

test("builds the library's record from kafkajs's message: Buffers, explicit partition, bigint timestamp, headers; keys reused", () => {
  const keys = new Map<string, Buffer>();
  const value = Buffer.from([1, 2, 3]);
  const a = toPlatformaticMessage("t", { key: "BTCUSDT", value, partition: 7 }, keys);
  assert.equal(a.topic, "t");
  assert.deepEqual(a.key, Buffer.from("BTCUSDT"));
  assert.equal(a.value, value, "the value goes as it is, not copied");
  assert.equal(a.partition, 7);
  assert.equal(a.timestamp, undefined, "no timestamp: the library stamps the send time, as kafkajs does");
  assert.equal(a.headers, undefined);
  const b = toPlatformaticMessage("t", { key: "BTCUSDT", value: "x", timestamp: "1700000000123" }, keys);
  assert.equal(b.key, a.key, "one key Buffer per symbol");
  assert.deepEqual(b.value, Buffer.from("x"));
  assert.equal(b.partition, undefined);
  assert.equal(b.timestamp, 1700000000123n);
  const c = toPlatformaticMessage(
    "t",
    { key: null, value: null, headers: { reason: "too big", n: Buffer.from("1") } },
    keys,
  );
  assert.equal(c.key, undefined);
  assert.equal(c.value, undefined);
  const headers = [...(c.headers as Map<Buffer, Buffer>)].map(([k, v]) => [k.toString(), v.toString()]);
  assert.deepEqual(headers, [
    ["reason", "too big"],
    ["n", "1"],
  ]);
});
