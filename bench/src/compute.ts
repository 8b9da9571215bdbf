// Compute throughput: pre-produces book records (30 symbols) to a fresh topic, then times one
// compute instance consuming them all into Redis. Reports updates/s, writes saved by per-batch
// dedup, and the compute hop (receive -> Redis publish) p50/p99.
// Usage: npm run compute -w @quantcore/bench  [BENCH_RECORDS=200000]
import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { logLevel } from "kafkajs";
import { createComputeService } from "@quantcore/compute";
import { TOP30_USDT } from "@quantcore/ingest";
import { BookUpdateKind, MarketUpdateSchema, encodeBookUpdate } from "@quantcore/proto";
import { EnvReader, nowUs, waitFor, createKafka } from "@quantcore/runtime";
import { createTopics, startStack } from "@quantcore/stack";
import { summarize, writeResults } from "./report.js";

const env = new EnvReader();
const total = env.int("BENCH_RECORDS", 200_000, { min: 1000 });
env.done();

const stack = await startStack({ topics: [] });
const brokers = stack.kafka!.brokers;
const topic = `ob_bench_${randomUUID().slice(0, 8)}`;
await createTopics(brokers, [{ name: topic, partitions: 30 }]);
const kafka = createKafka({ clientId: "bench", brokers, logLevel: logLevel.WARN });
const producer = kafka.producer();
await producer.connect();

const lv = (price: number, quantity: number) => ({ price, quantity });
const record = (symbol: string, id: number) =>
  Buffer.from(
    encodeBookUpdate({
      symbol,
      kind: BookUpdateKind.UPDATE,
      updateId: BigInt(id),
      firstUpdateId: BigInt(id),
      exchangeEventTimeMs: 1_700_000_000_000 + id,
      ingestReceiveTimeUs: nowUs(),
      ingestProduceTimeUs: nowUs(),
      bids: Array.from({ length: 20 }, (_, i) => lv(100 - i * 0.01 - (id % 5) * 0.01, 1 + ((id + i) % 9))),
      asks: Array.from({ length: 20 }, (_, i) => lv(100.01 + i * 0.01, 1 + ((id * 3 + i) % 7))),
      shardId: 0,
    }),
  );
console.log(`producing ${total} records...`);
const batch = 3000;
for (let n = 0; n < total; n += batch) {
  const messages = Array.from({ length: Math.min(batch, total - n) }, (_, k) => {
    const i = n + k;
    const s = TOP30_USDT[i % 30]!;
    return { key: s, partition: i % 30, value: record(s, i + 1) };
  });
  await producer.send({ topic, acks: -1, messages });
}
await producer.disconnect();

const ns = `bench${randomUUID().slice(0, 8)}`;
const sub = new Redis(stack.redis!.url);
const hop: number[] = [];
sub.on("messageBuffer", (_c: Buffer, m: Buffer) => {
  const t = fromBinary(MarketUpdateSchema, m).timestamps!;
  hop.push((t.computePublishUs - t.computeReceiveUs) / 1000);
});
await sub.subscribe(`${ns}:updates`);

const svc = createComputeService({
  kafkaBrokers: brokers,
  kafkaTopic: topic,
  groupId: `bench-${ns}`,
  fromBeginning: true,
  redisUrl: stack.redis!.url,
  redisNamespace: ns,
});
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
await svc.start();
await waitFor(() => svc.stats().records >= total, "all records consumed", { timeoutMs: 600_000, intervalMs: 20 });
const seconds = (performance.now() - t0) / 1000;
const st = svc.stats();
await svc.stop();
sub.disconnect();

writeResults(
  "compute",
  {
    command: "npm run compute -w @quantcore/bench",
    machine: "2 cores, 24 GiB; Kafka, Redis and compute on one host",
    records: total,
    seconds: Number(seconds.toFixed(2)),
    updatesPerSecond: Math.round(total / seconds),
    batches: st.batches,
    writesAttempted: st.writesAttempted,
    writesSavedByDedup: st.writesSavedByDedup,
    avgRecordsPerBatch: Number((total / st.batches).toFixed(1)),
    avgRedisWritesPerBatch: Number((st.writesAttempted / st.batches).toFixed(1)),
    rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    rssGrowthMb: Math.round((process.memoryUsage().rss - rssBefore) / 2 ** 20),
    date: new Date().toISOString(),
  },
  { "compute receive -> redis publish (per published update)": summarize(hop) },
  "ms",
);
await stack.stop();
process.exit(0);
