// The stack on a busy machine: it comes up while CPU burners compete for both cores, and the
// Kafka storage format (a JVM run) no longer blocks the event loop that Redis's readiness wait
// and every other timer of the process share.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { test } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { Redis } from "ioredis";
import { freePort, startRedis, startStack, type StackHandle, type StackProgress } from "../src/index.js";

/** A CPU burner that ends by itself after `ms` even if this test process is killed. */
function burner(ms: number) {
  return spawn(process.execPath, ["-e", `const end = Date.now() + ${ms}; while (Date.now() < end) {}`], {
    stdio: "ignore",
  });
}

test(
  "startStack comes up beside two CPU burners; the event loop keeps turning during the Kafka storage format",
  { timeout: 600_000 },
  async () => {
    const burners = [burner(300_000), burner(300_000)];
    const ticks: number[] = [];
    const ticker = setInterval(() => ticks.push(Date.now()), 20);
    const progress: StackProgress[] = [];
    let stack: StackHandle | undefined;
    try {
      stack = await startStack({ onProgress: (e) => progress.push(e) });
      const begun = progress.find((e) => e.step === "kafka-format" && !e.done);
      const ended = progress.find((e) => e.step === "kafka-format" && e.done);
      assert.ok(begun && ended, `format reported: ${JSON.stringify(progress)}`);
      const during = ticks.filter((t) => t > begun.atMs && t < ended.atMs).length;
      assert.ok(during > 0, `no timer fired during the ${ended.elapsedMs} ms format: it blocked the event loop`);
      for (const step of ["kafka-artifacts", "kafka-broker", "redis", "topics"]) {
        assert.ok(
          progress.some((e) => e.step === step && e.done),
          `${step} done`,
        );
      }

      const redis = new Redis(stack.env().REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      assert.equal(await redis.ping(), "PONG");
      redis.disconnect();
      const admin = new Kafka({
        clientId: "busy-test",
        brokers: stack.kafka!.brokers,
        logLevel: logLevel.NOTHING,
      }).admin();
      await admin.connect();
      assert.ok((await admin.listTopics()).includes("order_book"));
      await admin.disconnect();
    } finally {
      clearInterval(ticker);
      for (const b of burners) b.kill("SIGKILL");
      await stack?.stop();
    }
  },
);

test(
  "a redis-server that exits while starting fails the start at once, with its log",
  { timeout: 90_000 },
  async () => {
    // The port is taken, so redis-server exits; the wait must not sit out its whole deadline.
    const port = await freePort();
    const blocker = net.createServer((sock) => sock.destroy());
    await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", resolve));
    const started = Date.now();
    try {
      await assert.rejects(
        startRedis({ port, startTimeoutMs: 120_000 }),
        (err: Error) => /exited while starting/.test(err.message) && /Address already in use|bind/i.test(err.message),
      );
      assert.ok(Date.now() - started < 60_000, "failed well before the readiness deadline");
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  },
);
