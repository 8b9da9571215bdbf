// Kafka counters of the load bench, read from outside the pipeline with the admin API:
// records produced (the topic's end offsets) and records consumed by a group (its committed
// offsets; compute commits acknowledged progress every 500 ms), hence the group's lag.
import { logLevel, type Admin } from "kafkajs";
import { QuantCoreError, createKafka } from "@quantcore/runtime";

export interface Offsets {
  /** Sum over partitions of the end offset (high watermark). */
  produced: number;
  /** Sum over partitions of the group's committed offset (the partition's start where never committed). */
  consumed: number;
  /** produced - consumed. */
  lag: number;
}

export class KafkaCounters {
  private readonly admin: Admin;

  constructor(brokers: string[]) {
    this.admin = createKafka({ clientId: "bench-load-admin", brokers, logLevel: logLevel.NOTHING }).admin();
  }

  async connect(): Promise<void> {
    try {
      await this.admin.connect();
    } catch (err) {
      throw QuantCoreError.infra("kafka admin connect", err);
    }
  }

  async offsets(topic: string, groupId: string): Promise<Offsets> {
    try {
      // Committed first, then the ends: read in this order the lag is never negative.
      const [group] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
      const ends = await this.admin.fetchTopicOffsets(topic);
      const committed = new Map((group?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      let produced = 0;
      let consumed = 0;
      for (const p of ends) {
        const end = Number(p.high);
        const c = committed.get(p.partition) ?? -1;
        produced += end;
        consumed += c >= 0 ? c : Number(p.low);
      }
      return { produced, consumed, lag: produced - consumed };
    } catch (err) {
      throw QuantCoreError.infra("kafka admin offsets", err);
    }
  }

  async close(): Promise<void> {
    await this.admin.disconnect();
  }
}
