import assert from "node:assert/strict";
import { test } from "node:test";
import { Redis } from "ioredis";
import { waitFor, type ControlCommand } from "@quantcore/runtime";
import { startRedis } from "@quantcore/stack";
import { ShardHealthReporter } from "../src/health.js";
import type { IngestStats } from "../src/service.js";

test("control commands are parsed with the shared schema: malformed ones counted and ignored, valid ones acted on", async () => {
  const redisHandle = await startRedis();
  const pub = new Redis(redisHandle.url);
  const got: ControlCommand[] = [];
  const stats = {
    connected: true,
    frames: 0,
    lastFrameAtMs: 0,
    reconnects: 0,
    resets: 0,
    gaps: 0,
    rejected: {},
    producerBacklog: 0,
  } as unknown as IngestStats;
  const reporter = new ShardHealthReporter(
    redisHandle.url,
    "h",
    1,
    ["BTCUSDT"],
    () => stats,
    (c) => got.push(c),
  );
  try {
    await reporter.start(60_000);
    const malformed = [
      "not json",
      '{"type":"resync"}', // neither target
      '{"type":"resync","shardId":"1"}', // a string where a number belongs
      '{"type":"resync","symbol":"BTCUSDT","shardId":1}', // both targets
      '{"type":"halt","shardId":1}',
    ];
    for (const m of malformed) await pub.publish("h:control", m);
    await pub.publish("h:control", '{"type":"resync","shardId":2}'); // another shard's
    await pub.publish("h:control", '{"type":"resync","shardId":1}');
    await pub.publish("h:control", '{"type":"resync","symbol":"BTCUSDT"}');
    await waitFor(() => got.length >= 2, "the valid commands");
    assert.deepEqual(got, [
      { type: "resync", shardId: 1 },
      { type: "resync", symbol: "BTCUSDT" },
    ]);
    // Published before the valid ones on the same connection, so already handled.
    assert.equal(reporter.rejectedCommands, malformed.length);
  } finally {
    await reporter.stop();
    pub.disconnect();
    await redisHandle.stop();
  }
});
