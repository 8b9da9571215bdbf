// Kafka (and Redis, when asked) for one test file: the stack the test command started and shares
// through KAFKA_BROKERS / REDIS_URL, or a stack of the file's own when it runs alone.
import { startStack } from "./stack.js";

export interface TestStack {
  brokers: string[];
  /** The Redis URL when asked for (`redis: true`), else "". */
  redisUrl: string;
  /** Stops the stack if this file started its own (the shared one belongs to the test command). */
  stop(): Promise<void>;
}

export async function sharedOrOwnStack(o: { redis: boolean }): Promise<TestStack> {
  const { KAFKA_BROKERS, REDIS_URL } = process.env;
  if (KAFKA_BROKERS && (!o.redis || REDIS_URL))
    return { brokers: KAFKA_BROKERS.split(","), redisUrl: o.redis ? REDIS_URL! : "", stop: async () => {} };
  const stack = await startStack({ topics: [], redis: o.redis });
  return { brokers: stack.kafka!.brokers, redisUrl: stack.redis?.url ?? "", stop: () => stack.stop() };
}
