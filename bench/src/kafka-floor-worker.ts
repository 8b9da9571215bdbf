// One side of the Kafka floor probe (bench/src/kafka-floor.ts), in its own process:
// FLOOR_ROLE=producer sends RATE records/s (acks=-1, one request in flight, each stamped with
// its produce wall clock) over its share of the topic's partitions (producer FLOOR_PRODUCER_INDEX
// of FLOOR_PRODUCERS takes the partitions p with p % FLOOR_PRODUCERS == index), in one request per
// tick of FLOOR_TICK_MS, ticks aligned to the wall clock so that several producers send together;
// FLOOR_ROLE=consumer reads them with compute's consumer settings and records produce -> receive
// latency. Both report the CPU time they spent per measured record (kafkajs's own cost per record,
// the floor for ingest's and compute's CPU per update). Driven over IPC.
import { Kafka, logLevel } from "kafkajs";
import { DEFAULT_COMPUTE_OPTIONS } from "@quantcore/compute";
import { EnvReader, fixKafkajsIdleTimer, noDelaySocketFactory, nowUs, sleep } from "@quantcore/runtime";
import { summarize, type Summary } from "./report.js";

export type FromFloor =
  | { kind: "ready" }
  | { kind: "produced"; measured: number; total: number; sendErrors: number; cpuUs: number }
  | { kind: "consumed"; measured: number; latencyMs: Summary; cpuUs: number };

/** CPU time (user + system) of this process, microseconds. */
const cpuNowUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const env = new EnvReader();
const role = env.oneOf("FLOOR_ROLE", ["producer", "consumer"] as const, "producer");
const brokers = env.list("KAFKA_BROKERS", []);
const topic = env.string("FLOOR_TOPIC");
const partitions = env.int("FLOOR_PARTITIONS", 30, { min: 1 });
const rate = env.int("FLOOR_RATE", 300, { min: 1 });
const warmupSeconds = env.int("FLOOR_WARMUP_SECONDS", 3, { min: 0 });
const seconds = env.int("FLOOR_SECONDS", 10, { min: 1 });
const recordBytes = env.int("FLOOR_RECORD_BYTES", 800, { min: 9 });
const tickMs = env.int("FLOOR_TICK_MS", 10, { min: 1 });
const producers = env.int("FLOOR_PRODUCERS", 1, { min: 1 });
const producerIndex = env.int("FLOOR_PRODUCER_INDEX", 0, { min: 0, max: producers - 1 });
// Consumers of one group in the consumer process (each has its own fetch in flight).
const consumers = env.int("FLOOR_CONSUMERS", 1, { min: 1, max: 30 });
// The services' sockets (false = kafkajs's own, Nagle on: to show what that costs).
const noDelay = env.oneOf("FLOOR_NO_DELAY", ["true", "false"] as const, "true") === "true";
// The client library: kafkajs (the pipeline's) or @platformatic/kafka (the alternative, measured).
const client = env.oneOf("FLOOR_CLIENT", ["kafkajs", "platformatic"] as const, "kafkajs");
// The consumer's library when it differs from the producers' (ingest and compute choose apart).
const consumerClient = env.oneOf("FLOOR_CONSUMER_CLIENT", ["kafkajs", "platformatic"] as const, client);
env.done();

interface FloorMessage {
  key: string;
  partition: number;
  value: Buffer;
}
/** The little a floor needs of a Kafka client, so two libraries can be measured the same way. */
interface FloorProducer {
  send(messages: FloorMessage[]): Promise<void>;
  close(): Promise<void>;
}
/** Starts consuming the topic from the beginning; resolves once the group is joined. */
type FloorConsume = (onValues: (values: Buffer[]) => void) => Promise<void>;

// As the services: without it every kafkajs connection spins a 1 ms timer (runtime/kafka-client.ts).
fixKafkajsIdleTimer();
const kafka = new Kafka({
  clientId: `bench-floor-${role}`,
  brokers,
  logLevel: logLevel.NOTHING,
  ...(noDelay ? { socketFactory: noDelaySocketFactory } : {}),
});
const send = (m: FromFloor) => process.send?.(m);
for (const sig of ["SIGTERM", "SIGINT", "disconnect"] as const) process.on(sig, () => process.exit(0));

async function kafkajsProducer(): Promise<FloorProducer> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  return {
    send: async (messages) => void (await producer.send({ topic, acks: -1, messages })),
    close: () => producer.disconnect(),
  };
}

async function platformaticProducer(): Promise<FloorProducer> {
  const { Producer } = await import("@platformatic/kafka");
  const producer = new Producer({ clientId: `bench-floor-${role}`, bootstrapBrokers: brokers });
  return {
    send: async (messages) =>
      void (await producer.send({
        acks: -1,
        messages: messages.map((m) => ({ topic, partition: m.partition, key: Buffer.from(m.key), value: m.value })),
      })),
    close: () => producer.close(),
  };
}

const kafkajsConsume: FloorConsume = async (onValues) => {
  const joins = Array.from({ length: consumers }, async () => {
    const consumer = kafka.consumer({
      groupId: `${topic}-floor`,
      maxWaitTimeInMs: DEFAULT_COMPUTE_OPTIONS.maxWaitTimeInMs,
      minBytes: 1,
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    // No commits, as compute, which commits on its own timer rather than after each batch: kafkajs's
    // auto-commit sends a commit after every batch, and the next fetch waits for it.
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => onValues(batch.messages.flatMap((m) => (m.value ? [m.value] : []))),
    });
    await joined;
  });
  await Promise.all(joins);
};

const platformaticConsume: FloorConsume = async (onValues) => {
  const { Consumer } = await import("@platformatic/kafka");
  const consumer = new Consumer({
    groupId: `${topic}-floor`,
    clientId: `bench-floor-${role}`,
    bootstrapBrokers: brokers,
    maxWaitTime: DEFAULT_COMPUTE_OPTIONS.maxWaitTimeInMs,
    minBytes: 1,
  });
  const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false });
  stream.on("data", (m: { value: Buffer }) => onValues([m.value]));
};

if (role === "producer") {
  const producer = client === "kafkajs" ? await kafkajsProducer() : await platformaticProducer();
  send({ kind: "ready" });
  const startMs = performance.now();
  const endMs = startMs + (warmupSeconds + seconds) * 1000;
  let carry = 0;
  let next = 0;
  let measured = 0;
  let sendErrors = 0;
  let cpuStartUs: number | undefined;
  let lastMs = startMs;
  while (performance.now() < endMs) {
    const now = performance.now();
    carry += ((now - lastMs) * rate) / 1000;
    lastMs = now;
    const n = Math.floor(carry);
    carry -= n;
    if (n > 0) {
      const inWindow = now - startMs >= warmupSeconds * 1000;
      if (inWindow) cpuStartUs ??= cpuNowUs();
      const stampedUs = nowUs();
      const messages = Array.from({ length: n }, () => {
        const value = Buffer.alloc(recordBytes);
        value.writeDoubleLE(stampedUs, 0);
        value.writeUInt8(inWindow ? 1 : 0, 8);
        const owned = Math.ceil((partitions - producerIndex) / producers);
        const partition = producerIndex + producers * (next++ % owned);
        return { key: `S${partition}`, partition, value };
      });
      try {
        await producer.send(messages);
        if (inWindow) measured += n;
      } catch {
        sendErrors++;
      }
    }
    // The next wall-clock multiple of the tick: producers in other processes tick together.
    await sleep(tickMs - (Date.now() % tickMs));
  }
  const cpuUs = cpuStartUs === undefined ? 0 : cpuNowUs() - cpuStartUs;
  send({ kind: "produced", measured, total: next, sendErrors, cpuUs });
  await producer.close();
  process.exit(0);
} else {
  const samples: number[] = [];
  let cpuFirstUs: number | undefined;
  let cpuLastUs = 0;
  const consume = consumerClient === "kafkajs" ? kafkajsConsume : platformaticConsume;
  await consume((values) => {
    const recvUs = nowUs();
    let measured = false;
    for (const v of values) {
      if (v.length >= 9 && v.readUInt8(8) === 1) {
        samples.push((recvUs - v.readDoubleLE(0)) / 1000);
        measured = true;
      }
    }
    // From the first measured record to the last: CPU spent on the measured window.
    if (measured) {
      cpuFirstUs ??= cpuNowUs();
      cpuLastUs = cpuNowUs();
    }
  });
  send({ kind: "ready" });
  process.on("message", (m: { kind: string }) => {
    if (m.kind === "report")
      send({
        kind: "consumed",
        measured: samples.length,
        latencyMs: summarize(samples),
        cpuUs: cpuFirstUs === undefined ? 0 : cpuLastUs - cpuFirstUs,
      });
  });
}
