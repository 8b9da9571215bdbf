// Topics on a replicated cluster: created at the cluster's replication factor and
// min.insync.replicas, returned only once every partition has its full ISR and every broker
// knows every leader.
import { Kafka, logLevel } from "kafkajs";
import { waitFor } from "@quantcore/runtime";
import { topicConfig, type TopicSpec } from "./topics.js";

/** What topic creation needs of the cluster's options. */
export interface ReplicationOptions {
  replicationFactor: number;
  minInsyncReplicas: number;
}

/**
 * Creates missing topics replicated across the cluster; waits until every partition has its full
 * ISR and every broker knows every partition's leader.
 */
export async function createReplicatedTopics(
  brokers: string[],
  topics: TopicSpec[],
  o: ReplicationOptions,
): Promise<void> {
  const admin = new Kafka({ clientId: "quantcore-cluster", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        // Leaders are awaited below, tolerating a broker whose metadata lags the controller.
        waitForLeaders: false,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: o.replicationFactor,
          configEntries: [{ name: "min.insync.replicas", value: String(o.minInsyncReplicas) }, ...topicConfig(t)],
        })),
      });
    }
    await waitFor(
      async () => {
        const md = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) });
        return md.topics.every((t) => {
          const want = topics.find((x) => x.name === t.name)!.partitions;
          return (
            t.partitions.length === want &&
            t.partitions.every((p) => p.leader >= 0 && p.isr.length === o.replicationFactor)
          );
        });
      },
      "replicated topic leaders and full ISR",
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } finally {
    await admin.disconnect();
  }
  await topicsKnownToEveryBroker(brokers, topics);
}

/** Brokers learn a new topic a moment apart ("does not host this topic-partition"): waits until each knows every leader. */
async function topicsKnownToEveryBroker(brokers: string[], topics: TopicSpec[]): Promise<void> {
  for (const broker of brokers) {
    // A client seeded with one broker asks that broker (its only connection).
    const admin = new Kafka({ clientId: "quantcore-cluster", brokers: [broker], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await waitFor(
        async () => {
          const md = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) });
          return md.topics.every(
            (t) =>
              t.partitions.length === topics.find((x) => x.name === t.name)!.partitions &&
              t.partitions.every((p) => p.leader >= 0),
          );
        },
        `topic metadata on broker ${broker}`,
        { timeoutMs: 60_000, intervalMs: 200 },
      );
    } finally {
      await admin.disconnect();
    }
  }
}
