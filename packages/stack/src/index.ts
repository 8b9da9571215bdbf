export { DEFAULT_STACK_OPTIONS, startStack, type StackHandle, type StackOptions } from "./stack.js";
export { DEFAULT_REDIS_OPTIONS, startRedis, type RedisHandle, type RedisOptions } from "./redis.js";
export {
  DEFAULT_KAFKA_OPTIONS,
  createTopics,
  ensureKafkaArtifacts,
  startKafka,
  type KafkaHandle,
  type KafkaOptions,
  type StackProgress,
} from "./kafka.js";
export { DEFAULT_RETENTION_HOURS, retentionMsFromEnv, type TopicSpec } from "./topics.js";
export { freePort, isAlive } from "./proc.js";
export { createReplicatedTopics, type ReplicationOptions } from "./replicated-topics.js";
export {
  DEFAULT_CLUSTER_OPTIONS,
  startKafkaCluster,
  type ClusterHandle,
  type ClusterNode,
  type ClusterOptions,
} from "./cluster.js";
export { sharedOrOwnStack, type TestStack } from "./test-stack.js";
