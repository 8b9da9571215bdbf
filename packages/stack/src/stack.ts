import path from "node:path";
import {
  DEFAULT_KAFKA_OPTIONS,
  createTopics,
  startKafka,
  type KafkaHandle,
  type KafkaOptions,
  type TopicSpec,
} from "./kafka.js";
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
  reapOrphans();
  const [kafka, redis] = await Promise.all([
    o.kafka ? startKafka(o) : Promise.resolve(undefined),
    o.redis ? startRedis({ workDir: o.workDir }) : Promise.resolve(undefined),
  ]);
  if (kafka) await createTopics(kafka.brokers, o.topics);
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
      await Promise.all([kafka?.stop(), redis?.stop()]);
    },
  };
}
