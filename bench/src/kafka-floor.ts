// The Kafka floor: a bare kafkajs producer and consumer, each in its own process, on the same
// broker and the same topic shape as order_book (30 partitions), acks=-1, at a stated rate;
// produce -> consume latency p50/p99 is what the pipeline's Kafka hop is compared against.
// The load bench runs it first; alone:
//   npm run kafka-floor -w @quantcore/bench  [FLOOR_RATES=300,3000] [FLOOR_SECONDS=15]
//     [FLOOR_PRODUCERS=1] [FLOOR_TICK_MS=10]  (3 and 100: the load bench's shape at 300/s)
//     [FLOOR_CLIENT=kafkajs|platformatic]  (@platformatic/kafka: the alternative client, measured alike)
//     [FLOOR_CONSUMER_CLIENT=kafkajs|platformatic]  (the consumer's, when it differs: ingest and compute choose apart)
//     [FLOOR_CONSUMERS=1]  (kafkajs consumers of one group in the consumer process, each fetching on its own)
import { randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { EnvReader, sleep } from "@quantcore/runtime";
import { createTopics, startStack } from "@quantcore/stack";
import type { FromFloor } from "./kafka-floor-worker.js";
import { forkTs, nextMessage, stopAll, stopChild } from "./load-procs.js";
import { writeResults, type Summary } from "./report.js";

export interface FloorOptions {
  brokers: string[];
  /** Total records per second over all partitions. */
  ratePerSecond: number;
  seconds: number;
  warmupSeconds: number;
  partitions: number;
  recordBytes: number;
  /** Producer processes, each with its share of the partitions (the load bench: one per shard). */
  producers: number;
  /** Each producer sends what is due once per tick, ticks aligned across producers. */
  tickMs: number;
  /** The Kafka client library measured. */
  client: "kafkajs" | "platformatic";
  logDir: string;
}

export const DEFAULT_FLOOR = Object.freeze({
  rates: [300, 3000],
  seconds: 15,
  warmupSeconds: 3,
  partitions: 30,
  recordBytes: 800,
  producers: 1,
  tickMs: 10,
  client: "kafkajs" as "kafkajs" | "platformatic",
});

export interface FloorResult {
  client: "kafkajs" | "platformatic";
  ratePerSecond: number;
  producers: number;
  tickMs: number;
  topic: string;
  produced: number;
  consumed: number;
  sendErrors: number;
  latencyMs: Summary;
  /** kafkajs's CPU per measured record: the producers' together, and the consumer's. */
  cpuUsPerRecord: { producer: number; consumer: number };
}

const worker = path.join(import.meta.dirname, "kafka-floor-worker.ts");
const isMsg =
  <K extends FromFloor["kind"]>(kind: K) =>
  (m: unknown): m is Extract<FromFloor, { kind: K }> =>
    (m as { kind?: string })?.kind === kind;

/** One probe at one rate, on a fresh topic of its own. */
export async function runKafkaFloor(o: FloorOptions): Promise<FloorResult> {
  const topic = `bench_floor_${randomUUID().slice(0, 8)}_${o.ratePerSecond}_${o.producers}x${o.tickMs}`;
  const label = `${o.ratePerSecond}-${o.producers}x${o.tickMs}ms`;
  await createTopics(o.brokers, [{ name: topic, partitions: o.partitions }]);
  const env = {
    KAFKA_BROKERS: o.brokers.join(","),
    FLOOR_TOPIC: topic,
    FLOOR_PARTITIONS: String(o.partitions),
    FLOOR_RATE: String(o.ratePerSecond),
    FLOOR_SECONDS: String(o.seconds),
    FLOOR_WARMUP_SECONDS: String(o.warmupSeconds),
    FLOOR_RECORD_BYTES: String(o.recordBytes),
    FLOOR_TICK_MS: String(o.tickMs),
    FLOOR_PRODUCERS: String(o.producers),
    FLOOR_CLIENT: o.client,
  };
  const consumer = forkTs(`floor-consumer-${label}`, worker, { ...env, FLOOR_ROLE: "consumer" }, o.logDir);
  try {
    await nextMessage(consumer, isMsg("ready"), "consumer group join", 60_000);
    const producers = Array.from({ length: o.producers }, (_, i) =>
      forkTs(
        `floor-producer-${label}-${i}`,
        worker,
        {
          ...env,
          FLOOR_ROLE: "producer",
          FLOOR_RATE: String(Math.max(1, Math.round(o.ratePerSecond / o.producers))),
          FLOOR_PRODUCER_INDEX: String(i),
        },
        o.logDir,
      ),
    );
    const reports = await Promise.all(
      producers.map((p) =>
        nextMessage(p, isMsg("produced"), "end of production", (o.warmupSeconds + o.seconds) * 1000 + 60_000),
      ),
    );
    await Promise.all(producers.map((p) => stopChild(p)));
    const produced = {
      measured: reports.reduce((n, r) => n + r.measured, 0),
      sendErrors: reports.reduce((n, r) => n + r.sendErrors, 0),
      cpuUs: reports.reduce((n, r) => n + r.cpuUs, 0),
    };
    // Wait (bounded) for the consumer to have read every measured record.
    const deadline = Date.now() + 15_000;
    let consumed: Extract<FromFloor, { kind: "consumed" }>;
    for (;;) {
      consumer.proc.send({ kind: "report" });
      consumed = await nextMessage(consumer, isMsg("consumed"), "consumer report", 10_000);
      if (consumed.measured >= produced.measured || Date.now() > deadline) break;
      await sleep(250);
    }
    return {
      client: o.client,
      ratePerSecond: o.ratePerSecond,
      producers: o.producers,
      tickMs: o.tickMs,
      topic,
      produced: produced.measured,
      consumed: consumed.measured,
      sendErrors: produced.sendErrors,
      latencyMs: consumed.latencyMs,
      cpuUsPerRecord: {
        producer: Math.round((10 * produced.cpuUs) / Math.max(1, produced.measured)) / 10,
        consumer: Math.round((10 * consumed.cpuUs) / Math.max(1, consumed.measured)) / 10,
      },
    };
  } finally {
    await stopChild(consumer);
  }
}

/** The floor measured at the rate closest (on a log scale) to `rate`, among those `which` accepts. */
export function nearestFloor(
  floors: FloorResult[],
  rate: number,
  which: (f: FloorResult) => boolean = () => true,
): FloorResult | undefined {
  const d = (f: FloorResult) => Math.abs(Math.log(f.ratePerSecond / rate));
  return floors.filter(which).sort((a, b) => d(a) - d(b))[0];
}

/** How often the simulator emits a step at `ratePerSecond` over `symbols` (all symbols step together). */
export function burstPeriodMs(ratePerSecond: number, symbols: number, syntheticTickMs: number): number {
  return Math.max(syntheticTickMs, Math.round((1000 * symbols) / ratePerSecond));
}

if (path.resolve(process.argv[1] ?? "") === fileURLToPath(import.meta.url)) {
  const env = new EnvReader();
  const rates = env.list("FLOOR_RATES", DEFAULT_FLOOR.rates.map(String)).map(Number);
  const seconds = env.int("FLOOR_SECONDS", DEFAULT_FLOOR.seconds, { min: 1 });
  const warmupSeconds = env.int("FLOOR_WARMUP_SECONDS", DEFAULT_FLOOR.warmupSeconds, { min: 0 });
  const producers = env.int("FLOOR_PRODUCERS", DEFAULT_FLOOR.producers, { min: 1, max: 30 });
  const tickMs = env.int("FLOOR_TICK_MS", DEFAULT_FLOOR.tickMs, { min: 1, max: 1000 });
  const client = env.oneOf("FLOOR_CLIENT", ["kafkajs", "platformatic"] as const, DEFAULT_FLOOR.client);
  env.done();
  if (rates.some((r) => !(Number.isInteger(r) && r > 0))) throw new Error("FLOOR_RATES must be positive integers");
  const stack = await startStack({ topics: [], redis: false });
  const stopEverything = async () => {
    await stopAll();
    await stack.stop();
  };
  process.on("SIGINT", () => void stopEverything().then(() => process.exit(130)));
  try {
    const results: FloorResult[] = [];
    for (const ratePerSecond of rates) {
      const base = { ...DEFAULT_FLOOR, seconds, warmupSeconds, producers, tickMs, client, logDir: stack.logDir };
      results.push(await runKafkaFloor({ ...base, brokers: stack.kafka!.brokers, ratePerSecond }));
    }
    writeResults(
      client === "kafkajs" ? "kafka-floor" : `kafka-floor-${client}`,
      {
        command: `${client === "kafkajs" ? "" : `FLOOR_CLIENT=${client} `}FLOOR_RATES=${rates.join(",")} npm run kafka-floor -w @quantcore/bench`,
        what: `bare ${client} producer(s) -> consumer (separate processes), 30 partitions, acks=-1, compute's consumer settings; ${producers} producer(s), one request per ${tickMs} ms tick each`,
        recordBytes: DEFAULT_FLOOR.recordBytes,
        measuredSecondsPerRate: seconds,
        counts: results.map((r) => ({
          rate: r.ratePerSecond,
          produced: r.produced,
          consumed: r.consumed,
          cpuUsPerRecord: r.cpuUsPerRecord,
        })),
        date: new Date().toISOString(),
      },
      Object.fromEntries(results.map((r) => [`produce -> consume at ${r.ratePerSecond}/s`, r.latencyMs])),
      "ms",
    );
  } finally {
    await stopEverything();
  }
  process.exit(0);
}
