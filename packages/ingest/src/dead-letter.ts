import type { Kafka, Message, Producer } from "kafkajs";
import { QuantCoreError, createLogger, settlesWithin } from "@quantcore/runtime";
import type { BatchingProducerOptions } from "./producer-options.js";
import { BatchingProducer } from "./producer.js";
import { valueBudgetBytes } from "./record-size.js";

const log = createLogger("ingest.dlq");

export interface DeadLetterMeta {
  /** Why the frame was refused: the parser's reject reason, `crossed`, `unknown_symbol`, `binary`. */
  reason: string;
  detail: string;
  shardId: number;
  receiveUs: number;
}

/** Most characters of the reject detail kept in the `qc-detail` header. */
const MAX_DETAIL_CHARS = 500;

const STREAM_SYMBOL_RE = /"stream"\s*:\s*"([a-z0-9]{1,30})@/;
const PAYLOAD_SYMBOL_RE = /"s"\s*:\s*"([A-Z0-9]{1,30})"/;

/** Best-effort symbol of a frame that failed validation: the key of its dead-letter record. */
export function symbolOfRaw(raw: string): string {
  const head = raw.slice(0, 4096);
  const m = STREAM_SYMBOL_RE.exec(head);
  if (m) return m[1]!.toUpperCase();
  return PAYLOAD_SYMBOL_RE.exec(head)?.[1] ?? "";
}

/**
 * The dead-letter record of one refused frame, cut to fit Kafka's limit: alone in its record
 * batch it takes at most `maxBatchBytes` (key, headers and framing included). A cut value ends
 * on a whole UTF-8 character and carries `qc-truncated: true`; `qc-original-bytes` is always the
 * frame's full size in bytes.
 */
export function deadLetterMessage(raw: string, meta: DeadLetterMeta, maxBatchBytes: number): Message {
  const symbol = symbolOfRaw(raw);
  const key = symbol || null;
  const full = Buffer.from(raw);
  const headers: Record<string, string> = {
    "qc-reason": meta.reason,
    "qc-detail": meta.detail.slice(0, MAX_DETAIL_CHARS),
    "qc-shard": String(meta.shardId),
    "qc-receive-us": String(meta.receiveUs),
    "qc-length": String(raw.length),
    "qc-original-bytes": String(full.byteLength),
  };
  if (full.byteLength <= valueBudgetBytes(key, headers, maxBatchBytes)) return { key, value: full, headers };
  headers["qc-truncated"] = "true";
  let cut = Math.max(0, valueBudgetBytes(key, headers, maxBatchBytes));
  // Never split a UTF-8 sequence: step back over continuation bytes (10xxxxxx).
  while (cut > 0 && (full[cut]! & 0xc0) === 0x80) cut--;
  // A copy, so the whole frame is not kept alive by a view of its head.
  return { key, value: Buffer.from(full.subarray(0, cut)), headers };
}

export interface DeadLetterOptions {
  topic: string;
  shardId: number;
  /** Kafka's per-partition record batch limit to stay within (broker `message.max.bytes`). */
  maxBatchBytes: number;
  /** Bounds of the dead-letter queue: beyond either, new dead letters are dropped (counted). */
  maxQueuedRecords: number;
  maxQueuedBytes: number;
  producer: Omit<Partial<BatchingProducerOptions>, "maxQueuedRecords" | "maxQueuedBytes">;
}

export interface DeadLetterStats {
  /** Accepted into the queue (then delivered unless Kafka refused them for good). */
  written: number;
  /** Of those, cut to fit the broker's limit. */
  truncated: number;
  /** Refused because the queue was full (count or bytes). */
  dropped: number;
  /** Refused by Kafka for good, by error type. */
  undeliverable: Partial<Record<string, number>>;
  backlog: number;
  backlogBytes: number;
}

/**
 * The dead-letter topic on a path of its own: its own kafkajs producer (own broker
 * connections), its own bounded queue and its own batching, so an oversize or slow dead letter
 * cannot block, slow or disconnect `order_book` production.
 */
export class DeadLetterQueue {
  private producer: Producer | undefined;
  private batcher: BatchingProducer | undefined;
  private readonly c = { written: 0, truncated: 0, dropped: 0 };

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: DeadLetterOptions,
  ) {}

  async start(): Promise<void> {
    const producer = this.kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1, idempotent: false });
    try {
      await producer.connect();
    } catch (err) {
      throw QuantCoreError.infra("kafka connect (dead letters)", err);
    }
    this.producer = producer;
    this.batcher = new BatchingProducer(
      producer,
      this.opts.topic,
      {
        ...this.opts.producer,
        maxQueuedRecords: this.opts.maxQueuedRecords,
        maxQueuedBytes: this.opts.maxQueuedBytes,
        maxPartitionBatchBytes: this.opts.maxBatchBytes,
      },
      () => {},
    );
  }

  /** Queues the raw frame; false if the queue is full (or not started). */
  write(raw: string, meta: DeadLetterMeta): boolean {
    if (!this.batcher) return false;
    const message = deadLetterMessage(raw, meta, this.opts.maxBatchBytes);
    if (!this.batcher.enqueue({ symbol: String(message.key ?? ""), message })) {
      this.c.dropped++;
      return false;
    }
    this.c.written++;
    if (message.headers?.["qc-truncated"]) this.c.truncated++;
    return true;
  }

  stats(): DeadLetterStats {
    return {
      ...this.c,
      undeliverable: { ...this.batcher?.stats.dropped },
      backlog: this.batcher?.backlog() ?? 0,
      backlogBytes: this.batcher?.backlogBytes() ?? 0,
    };
  }

  async stop(timeoutMs: number): Promise<void> {
    await this.batcher?.close(timeoutMs);
    if (this.producer && !(await settlesWithin(this.producer.disconnect(), timeoutMs)))
      log.warn("dead-letter producer disconnect timed out");
  }
}
