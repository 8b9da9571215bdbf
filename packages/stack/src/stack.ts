import path from "node:path";
import {
  DEFAULT_KAFKA_OPTIONS,
  createTopics,
  progressStep,
  startKafka,
  type KafkaHandle,
  type KafkaOptions,
} from "./kafka.js";
import { retentionMsFromEnv, type TopicSpec } from "./topics.js";
import { startRedis, type RedisHandle } from "./redis.js";
import { reapOrphans } from "./registry.js";

export interface StackOptions extends KafkaOptions {
  topics: TopicSpec[];
  kafka: boolean;
  redis: boolean;
}

export const DEFAULT_STACK_OPTIONS: Readonly<StackOptions> = Object.freeze({
  ...DEFAULT_KAFKA_OPTIONS,
  topics: [
    // retention.ms from KAFKA_RETENTION_HOURS when the stack starts (startStack).
    { name: "order_book", partitions: 30 },
    { name: "order_book.dlq", partitions: 3 },
  ],
  kafka: true,
  redis: true,
});

export interface StackHandle {
  kafka?: KafkaHandle;
  redis?: RedisHandle;
  workDir: string;
  logDir: string;
  /** KAFKA_BROKERS, REDIS_URL, KAFKA_TOPIC for child processes. */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

/** Starts Kafka (KRaft) and Redis side by side on free ports and creates the topics. */
export async function startStack(opts: Partial<StackOptions> = {}): Promise<StackHandle> {
  const o = { ...DEFAULT_STACK_OPTIONS, ...opts };
  if (!opts.topics) {
    const retentionMs = retentionMsFromEnv();
    o.topics = o.topics.map((t) => (t.name === "order_book" ? { ...t, retentionMs } : t));
  }
  reapOrphans();
  // Side by side; neither blocks the event loop the other's readiness wait runs on.
  const [k, r] = await Promise.allSettled([
    o.kafka ? startKafka(o) : Promise.resolve(undefined),
    o.redis ? progressStep(o, "redis", () => startRedis({ workDir: o.workDir })) : Promise.resolve(undefined),
  ]);
  const kafka = k.status === "fulfilled" ? k.value : undefined;
  const redis = r.status === "fulfilled" ? r.value : undefined;
  const stopBoth = () => Promise.all([kafka?.stop(), redis?.stop()]);
  if (k.status === "rejected" || r.status === "rejected") {
    // Whichever did start is stopped: a failed start leaves nothing running.
    await stopBoth();
    throw k.status === "rejected" ? k.reason : (r as PromiseRejectedResult).reason;
  }
  if (kafka) {
    try {
      await progressStep(o, "topics", () => createTopics(kafka.brokers, o.topics));
    } catch (err) {
      await stopBoth();
      throw err;
    }
  }
  let stopped = false;
  return {
    kafka,
    redis,
    workDir: o.workDir,
    logDir: path.join(o.workDir, "logs"),
    env() {
      const env: Record<string, string> = {};
      if (kafka) env.KAFKA_BROKERS = kafka.brokers.join(",");
      if (redis) env.REDIS_URL = redis.url;
      if (o.topics[0]) env.KAFKA_TOPIC = o.topics[0].name;
      return env;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopBoth();
    },
  };
}
