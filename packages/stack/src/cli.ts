#!/usr/bin/env -S npx tsx
// quantcore-stack up | fetch | down
import { ensureKafkaArtifacts } from "./kafka.js";
import { terminate } from "./proc.js";
import { recorded, untrack } from "./registry.js";
import { startStack } from "./stack.js";

const cmd = process.argv[2];
try {
  if (cmd === "fetch") {
    const started = Date.now();
    const cp = await ensureKafkaArtifacts();
    console.log(`Kafka artifacts ready (${cp.split(":").length} jars) in ${Date.now() - started} ms`);
  } else if (cmd === "up") {
    const stack = await startStack({
      onProgress: (e) => e.done && console.log(`# ${e.step} ready in ${((e.elapsedMs ?? 0) / 1000).toFixed(1)} s`),
    });
    for (const [k, v] of Object.entries(stack.env())) console.log(`${k}=${v}`);
    console.log(`# logs: ${stack.logDir}\n# Ctrl-C stops Kafka and Redis`);
    // Runs until signalled, even with nothing else holding the event loop (no terminal on stdin).
    const keepAlive = setInterval(() => {}, 1 << 30);
    const stop = () => void stack.stop().then(() => (clearInterval(keepAlive), process.exit(0)));
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  } else if (cmd === "down") {
    const entries = recorded();
    await Promise.all(entries.map((e) => terminate(e.pid).then(() => untrack(e.pid))));
    console.log(`stopped ${entries.length} processes`);
  } else {
    console.error("usage: quantcore-stack up | fetch | down");
    process.exit(1);
  }
} catch (err) {
  console.error(`quantcore-stack ${cmd}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
