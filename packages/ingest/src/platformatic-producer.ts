// The order-book producer on @platformatic/kafka, behind produce-client.ts's interface: kafkajs
// message shapes in, kafkajs answer shapes out, the library's own errors out (produce-errors.ts
// reads them). Measured in bench/ (kafka-floor, ingest, load): about a third of kafkajs's CPU per
// record at the same requests.
import { Producer, type MessageToProduce } from "@platformatic/kafka";
import type { Message, ProducerRecord, RecordMetadata } from "kafkajs";
import { brokerAnswered } from "./produce-errors.js";

export interface PlatformaticProducerOptions {
  clientId: string;
  brokers: string[];
  requestTimeoutMs: number;
  metadataMaxAgeMs: number;
}

/** Attempts inside the library before a failure reaches the batching producer, which backs off and keeps the records. */
const LIBRARY_RETRIES = 1;
const LIBRARY_RETRY_DELAY_MS = 100;

function toBuffer(v: Buffer | string | null | undefined): Buffer | undefined {
  if (v === null || v === undefined) return undefined;
  return typeof v === "string" ? Buffer.from(v) : v;
}

/** kafkajs's record shape as @platformatic/kafka's (Buffers, bigint timestamp). Keys repeat (one per symbol): cached. */
export function toPlatformaticMessage(topic: string, m: Message, keys: Map<string, Buffer>): MessageToProduce {
  let key: Buffer | undefined;
  if (typeof m.key === "string") {
    key = keys.get(m.key);
    if (key === undefined) keys.set(m.key, (key = Buffer.from(m.key)));
  } else key = toBuffer(m.key);
  const out: MessageToProduce = { topic, key, value: toBuffer(m.value) };
  if (m.partition !== undefined) out.partition = m.partition;
  if (m.timestamp !== undefined) out.timestamp = BigInt(m.timestamp);
  if (m.headers) {
    const headers = new Map<Buffer, Buffer>();
    for (const [k, v] of Object.entries(m.headers)) {
      for (const one of Array.isArray(v) ? v : [v]) {
        const b = toBuffer(one);
        if (b !== undefined) headers.set(Buffer.from(k), b);
      }
    }
    out.headers = headers;
  }
  return out;
}

/**
 * Satisfies produce-client.ts's `ProduceClient` (not imported here: that module picks this one).
 *
 * The library asks the first bootstrap broker it can connect to for metadata, always in the given
 * order. A broker that accepts connections but does not serve (frozen, or dead behind a proxy or
 * load balancer that still accepts) then blocks every metadata request, and so every produce,
 * until it is back: the fault suite's leader kill stalled a shard ~18 s that way. kafkajs picks
 * another broker. So after a failure no broker answered (network, timeout, no metadata), the next
 * request goes through a fresh client whose bootstrap list starts at the next broker; after a
 * broker's error answer, only the cached metadata is dropped (the leader may have moved).
 */
export function platformaticProduceClient(o: PlatformaticProducerOptions) {
  const build = (bootstrapBrokers: string[]) =>
    new Producer({
      clientId: o.clientId,
      bootstrapBrokers,
      // A broker that stops answering holds a request this long (as kafkajs's requestTimeout).
      requestTimeout: o.requestTimeoutMs,
      timeout: o.requestTimeoutMs,
      connectTimeout: o.requestTimeoutMs,
      metadataMaxAge: o.metadataMaxAgeMs,
      retries: LIBRARY_RETRIES,
      retryDelay: LIBRARY_RETRY_DELAY_MS,
      autocreateTopics: false,
      idempotent: false,
    });
  let order = [...o.brokers];
  let producer = build(order);
  const keys = new Map<string, Buffer>();
  const onFailure = (failed: Producer, err: unknown) => {
    if (failed !== producer) return; // a request of a client already replaced
    if (brokerAnswered(err) || order.length < 2) {
      producer.clearMetadata();
      return;
    }
    order = [...order.slice(1), order[0]!];
    producer = build(order);
    // Its other requests fail (and are sent again by the batching producer, which still holds them).
    failed.close().catch(() => {});
  };
  return {
    library: "platformatic" as const,
    connect: async (): Promise<void> => void (await producer.connectToBrokers()),
    async send({ topic, acks = -1, messages }: ProducerRecord): Promise<RecordMetadata[]> {
      const via = producer;
      let result;
      try {
        result = await via.send({ acks, messages: messages.map((m) => toPlatformaticMessage(topic, m, keys)) });
      } catch (err) {
        onFailure(via, err);
        throw err;
      }
      return (result.offsets ?? []).map((p): RecordMetadata => ({
        topicName: p.topic,
        partition: p.partition,
        errorCode: 0,
        baseOffset: String(p.offset),
      }));
    },
    refresh: async (): Promise<void> => producer.clearMetadata(),
    disconnect: (): Promise<void> => producer.close(),
  };
}
