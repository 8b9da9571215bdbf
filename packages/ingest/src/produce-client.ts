// The little the batching producer needs of a Kafka client library, so the order-book records can
// go through kafkajs (the design card's client) or @platformatic/kafka (measured faster: the root
// README's "Kafka client") behind the same calls. Records and answers keep kafkajs's shapes (`Message`,
// `RecordMetadata`): the ack log, the dead letters and the tests already speak them.
import type { Kafka, ProducerRecord, RecordMetadata } from "kafkajs";
import type { IngestOptions, KafkaClientLibrary } from "./options.js";
import { platformaticProduceClient } from "./platformatic-producer.js";

export interface ProduceClient {
  readonly library: KafkaClientLibrary;
  /** Reaches the cluster (fails when no broker answers). */
  connect(): Promise<void>;
  /**
   * One produce request (kafkajs's `producer.send` shape). Resolves with an entry per partition
   * Kafka acknowledged; rejects with the library's error (produce-errors.ts reads both libraries').
   */
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  /** Forgets cached cluster metadata so the next request asks again; called with nothing in flight. */
  refresh(): Promise<void>;
  disconnect(): Promise<void>;
}

/** The order-book producer of a shard: kafkajs through the shard's client, or @platformatic/kafka. */
export function createProduceClient(
  kafka: Kafka,
  o: Pick<
    IngestOptions,
    "kafkaClient" | "kafkaClientId" | "shardId" | "kafkaBrokers" | "kafkaRequestTimeoutMs" | "kafkaMetadataMaxAgeMs"
  >,
): ProduceClient {
  if (o.kafkaClient === "platformatic")
    return platformaticProduceClient({
      clientId: `${o.kafkaClientId}-${o.shardId}`,
      brokers: o.kafkaBrokers,
      requestTimeoutMs: o.kafkaRequestTimeoutMs,
      metadataMaxAgeMs: o.kafkaMetadataMaxAgeMs,
    });
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: false,
    metadataMaxAge: o.kafkaMetadataMaxAgeMs,
  });
  return {
    library: "kafkajs",
    connect: () => producer.connect(),
    send: (record) => producer.send(record),
    // Reconnecting drops kafkajs's cached metadata and connections.
    refresh: () => producer.disconnect().then(() => producer.connect()),
    disconnect: () => producer.disconnect(),
  };
}
