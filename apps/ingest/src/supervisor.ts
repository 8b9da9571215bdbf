// Starts SHARD_COUNT ingest shards (src/main.ts, each with its SHARD_ID) and restarts any that
// crashes. Every other variable is passed through to the shards unchanged.
import path from "node:path";
import { superviseShards } from "@quantcore/ingest";
import { EnvReader, createLogger, stopOnSignals } from "@quantcore/runtime";

const log = createLogger("app.ingest-supervisor");
const env = new EnvReader();
const shardCount = env.int("SHARD_COUNT", 10, { min: 1, max: 300 });
env.done();

// Bundled (dist/supervisor.mjs, as the image runs it) it starts dist/main.mjs; from source, src/main.ts via tsx.
const bundled = import.meta.url.endsWith(".mjs");
const supervisor = superviseShards({
  command: bundled
    ? [
        process.execPath,
        "--enable-source-maps",
        // Profiling flags reach the shards (the load bench's BENCH_NODE_ARGS="--cpu-prof ...").
        ...process.execArgv.filter((a) => a.startsWith("--cpu-prof")),
        path.join(import.meta.dirname, "main.mjs"),
      ]
    : [process.execPath, "--import", "tsx", path.join(import.meta.dirname, "main.ts")],
  shardCount,
  onOutput: (_shard, chunk) => process.stdout.write(chunk),
});
const statusTimer = setInterval(() => log.info("shards", { shards: supervisor.status() }), 30_000);
statusTimer.unref();
stopOnSignals(() => supervisor.stop(), log);
