import { createTopics, sharedOrOwnStack } from "@quantcore/stack";

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
  const { brokers, redisUrl, stop } = await sharedOrOwnStack({ redis: true });
  await createTopics(brokers, [
    { name: topic, partitions: 30 },
    { name: `${topic}.dlq`, partitions: 1 },
  ]);
  return { brokers, redisUrl, stop };
}
