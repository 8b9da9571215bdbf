import assert from "node:assert/strict";
import { test } from "node:test";
import kafkajs from "kafkajs";
import { isAlive, startKafkaCluster } from "../src/index.js";

// kafkajs is CommonJS: its enums are not named ESM exports.
const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;

test(
  "startKafkaCluster: three KRaft brokers, order_book at RF 3 / min.insync 2, a killed node restarts into the ISR",
  { timeout: 600_000 },
  async () => {
    const cluster = await startKafkaCluster();
    try {
      await cluster.createTopics([{ name: "order_book", partitions: 30 }]);
      const kafka = new Kafka({ clientId: "cluster-test", brokers: cluster.brokers, logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      try {
        const { brokers } = await admin.describeCluster();
        assert.deepEqual(brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
        // createTopics returned only once every broker knows the topic: any broker may answer.
        const md = await admin.fetchTopicMetadata({ topics: ["order_book"] });
        const parts = md.topics[0]!.partitions;
        assert.equal(parts.length, 30);
        for (const p of parts) {
          assert.equal(p.replicas.length, 3, `partition ${p.partitionId} replicas`);
          assert.equal(p.isr.length, 3, `partition ${p.partitionId} isr`);
        }
        const cfg = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: "order_book", configNames: ["min.insync.replicas"] }],
        });
        assert.equal(
          cfg.resources[0]!.configEntries.find((e) => e.configName === "min.insync.replicas")?.configValue,
          "2",
        );

        // A node dies: acks=all still succeeds on the two left; it restarts on its ports and rejoins every ISR.
        const victim = cluster.nodes[1]!;
        const oldPid = victim.pid;
        await cluster.kill(victim.nodeId);
        assert.equal(isAlive(oldPid), false);
        const producer = kafka.producer({ retry: { retries: 20 } });
        await producer.connect();
        await producer.send({
          topic: "order_book",
          acks: -1,
          messages: [{ key: "BTCUSDT", value: "x", partition: 0 }],
        });
        await producer.disconnect();
        await cluster.restart(victim.nodeId);
        assert.notEqual(victim.pid, oldPid);
        const deadline = Date.now() + 180_000;
        for (;;) {
          const m = await admin.fetchTopicMetadata({ topics: ["order_book"] });
          if (m.topics[0]!.partitions.every((p) => p.isr.includes(victim.nodeId))) break;
          assert.ok(Date.now() < deadline, "restarted node back in every ISR within 180 s");
          await new Promise((r) => setTimeout(r, 500));
        }
      } finally {
        await admin.disconnect();
      }
    } finally {
      await cluster.stop();
    }
    for (const n of cluster.nodes) assert.equal(isAlive(n.pid), false);
  },
);
