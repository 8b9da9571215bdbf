// Counts the ingest bench shard's produce requests and times their round trips, whichever library
// its order-book producer uses: kafkajs's request events (on the Kafka client handed to the
// shard), or @platformatic/kafka's diagnostics channel for sends.
import { tracingChannel } from "node:diagnostics_channel";
import { performance } from "node:perf_hooks";
import { logLevel, type Kafka, type ProducerConfig } from "kafkajs";
import { createKafka } from "@quantcore/runtime";

export interface ProduceProbe {
  /** The Kafka client to hand the shard (its kafkajs producers are counted). */
  kafka: Kafka;
  requests: number;
  /** While true, round trips are kept (ms). */
  record: boolean;
  durations: number[];
}

export function produceProbe(brokers: string[]): ProduceProbe {
  const probe: ProduceProbe = {
    kafka: createKafka({ clientId: "quantcore-ingest-0", brokers, logLevel: logLevel.WARN }),
    requests: 0,
    record: false,
    durations: [],
  };
  const makeProducer = probe.kafka.producer.bind(probe.kafka);
  probe.kafka.producer = (config?: ProducerConfig) => {
    const p = makeProducer(config);
    p.on(p.events.REQUEST, (e) => {
      if (e.payload.apiName !== "Produce") return;
      probe.requests++;
      if (probe.record) probe.durations.push(e.payload.duration);
    });
    return p;
  };
  const sendStarts = new WeakMap<object, number>();
  tracingChannel("plt:kafka:producer:sends").subscribe({
    start: (ctx) => void sendStarts.set(ctx as object, performance.now()),
    end: () => {},
    asyncStart: (ctx) => {
      probe.requests++;
      const t0 = sendStarts.get(ctx as object);
      if (probe.record && t0 !== undefined) probe.durations.push(performance.now() - t0);
    },
    asyncEnd: () => {},
    error: () => {},
  });
  return probe;
}
