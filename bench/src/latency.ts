// ONE-PROCESS end-to-end latency probe: replays the recorded spot frames at recorded speed through
// the real pipeline (ingest -> Kafka -> compute -> Redis -> gateway -> gRPC bot), every service
// and the bot inside this one process, on 2 symbols (~23 updates/s), and reports p50/p99 of
// ingest-receive -> bot-receive and of each hop. The deployed topology (separate processes, the
// whole universe, a load sweep) is measured by src/load.ts (npm run load).
// Usage: npm run latency -w @quantcore/bench  [BENCH_SECONDS=60] [BENCH_SPEED=1]
import { randomUUID } from "node:crypto";
import { defaultReplayFiles, startBinanceSim } from "@quantcore/binance-sim";
import { createComputeService } from "@quantcore/compute";
import { subscribe } from "@quantcore/example-bot";
import { createGateway } from "@quantcore/gateway";
import { createIngestService } from "@quantcore/ingest";
import { EnvReader, nowUs } from "@quantcore/runtime";
import { createTopics, startStack } from "@quantcore/stack";
import { summarize, writeResults } from "./report.js";

const env = new EnvReader();
const seconds = env.int("BENCH_SECONDS", 60, { min: 5 });
const speed = env.int("BENCH_SPEED", 1, { min: 1 });
const warmupSeconds = env.int("BENCH_WARMUP_SECONDS", 10, { min: 0 });
env.done();

const run = randomUUID().slice(0, 8);
const symbols = ["BTCUSDT", "ETHUSDT"];
const stack = await startStack({ topics: [] });
const brokers = stack.kafka!.brokers;
const topic = `order_book_bench_${run}`;
await createTopics(brokers, [
  { name: topic, partitions: 30 },
  { name: `${topic}.dlq`, partitions: 1 },
]);
const sim = await startBinanceSim({ replayFiles: defaultReplayFiles(), speed, syntheticSymbols: [] });
const ingest = createIngestService({
  wsBaseUrl: sim.wsUrl,
  restBaseUrl: sim.restUrl,
  symbols,
  kafkaBrokers: brokers,
  kafkaTopic: topic,
});
const compute = createComputeService({
  kafkaBrokers: brokers,
  kafkaTopic: topic,
  groupId: `bench-${run}`,
  redisUrl: stack.redis!.url,
  redisNamespace: `bench${run}`,
});
const gateway = await createGateway({
  redisUrl: stack.redis!.url,
  redisNamespace: `bench${run}`,
  grpcPort: 0,
  httpPort: 0,
  universe: symbols,
});
await ingest.start();
await compute.start();

const layers: Record<string, number[]> = {
  "ingest receive -> kafka produce": [],
  "kafka produce -> compute receive": [],
  "compute receive -> redis publish": [],
  "redis publish -> gateway send": [],
  "gateway send -> bot receive": [],
  "end to end: ingest receive -> bot receive": [],
};
const abort = new AbortController();
const startedAt = Date.now();
const stopAt = startedAt + (warmupSeconds + seconds) * 1000;
setTimeout(() => abort.abort(), stopAt - Date.now());
try {
  for await (const u of subscribe({ baseUrl: gateway.grpcUrl, symbols, signal: abort.signal })) {
    const recvUs = nowUs();
    if (u.snapshot || !u.timestamps || Date.now() < startedAt + warmupSeconds * 1000) continue;
    const t = u.timestamps;
    const ms = (a: number, b: number) => (b - a) / 1000;
    layers["ingest receive -> kafka produce"]!.push(ms(t.ingestReceiveUs, t.ingestProduceUs));
    layers["kafka produce -> compute receive"]!.push(ms(t.ingestProduceUs, t.computeReceiveUs));
    layers["compute receive -> redis publish"]!.push(ms(t.computeReceiveUs, t.computePublishUs));
    layers["redis publish -> gateway send"]!.push(ms(t.computePublishUs, t.gatewaySendUs));
    layers["gateway send -> bot receive"]!.push(ms(t.gatewaySendUs, recvUs));
    layers["end to end: ingest receive -> bot receive"]!.push(ms(t.ingestReceiveUs, recvUs));
  }
} catch (err) {
  if (!abort.signal.aborted) throw err;
}

const rows = Object.fromEntries(Object.entries(layers).map(([k, v]) => [k, summarize(v)]));
writeResults(
  "latency",
  {
    command: "npm run latency -w @quantcore/bench",
    topology:
      "ONE process: ingest, compute, gateway and the bot in this process (not the deployed topology; see load.md for that)",
    machine: "2 cores, 24 GiB; Kafka, Redis and every service on one host",
    replay: `spot BTCUSDT + ETHUSDT 2024-08-08, speed x${speed}`,
    measuredSeconds: seconds,
    warmupSeconds,
    ingest: ingest.stats(),
    compute: compute.stats(),
    date: new Date().toISOString(),
  },
  rows,
  "ms",
);
await ingest.stop();
await compute.stop();
await gateway.close();
await sim.close();
await stack.stop();
process.exit(0);
