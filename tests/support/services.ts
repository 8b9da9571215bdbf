import { createTopics, startStack, type StackHandle } from "@quantcore/stack";

export interface TestServices {
  brokers: string[];
  redisUrl: string;
  /** Stops the stack if this file started its own (the shared one belongs to the test command). */
  stop(): Promise<void>;
}

/**
 * Kafka and Redis for one e2e file: the stack the test command shares (KAFKA_BROKERS, REDIS_URL),
 * or a stack of its own when run alone; plus a fresh `topic` (30 partitions) and its dead-letter topic.
 */
export async function testServices(topic: string): Promise<TestServices> {
  let stack: StackHandle | undefined;
  let brokers: string[];
  let redisUrl: string;
  if (process.env.KAFKA_BROKERS && process.env.REDIS_URL) {
    brokers = process.env.KAFKA_BROKERS.split(",");
    redisUrl = process.env.REDIS_URL;
  } else {
    stack = await startStack({ topics: [] });
    brokers = stack.kafka!.brokers;
    redisUrl = stack.redis!.url;
  }
  await createTopics(brokers, [
    { name: topic, partitions: 30 },
    { name: `${topic}.dlq`, partitions: 1 },
  ]);
  return { brokers, redisUrl, stop: async () => void (await stack?.stop()) };
}
