import type { Message, Producer, RecordMetadata } from "kafkajs";
import { QuantCoreError, backoffDelayMs, createLogger, settlesWithin, sleep } from "@quantcore/runtime";
import { classifyProduceError } from "./produce-errors.js";
import { RECORD_BATCH_OVERHEAD_BYTES, recordBytes } from "./record-size.js";

const log = createLogger("ingest.producer");

export interface QueuedRecord {
  symbol: string;
  message: Message;
}

export interface BatchingProducerOptions {
  /** Records held while Kafka is slow or down; beyond it new records are refused. */
  maxQueuedRecords: number;
  /** The same bound in bytes (Kafka's record size: key, value, headers). */
  maxQueuedBytes: number;
  maxRecordsPerBatch: number;
  /**
   * Most bytes of one partition's records in one request. Kafka's `message.max.bytes` (1 MiB
   * + 12 by default) applies to the record batch of each partition; a record larger than this
   * is still sent, alone.
   */
  maxPartitionBatchBytes: number;
  /** Most bytes of records in one produce request, all partitions together. */
  maxRequestBytes: number;
  /** Least time between two produce requests: batches records under load (an idle stream is sent at once). */
  minSendIntervalMs: number;
  /** Backoff (full jitter) between attempts after a retriable failure. */
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  /** Hears every request Kafka acknowledged (the test-only ack log); absent = nobody. */
  onAcked?: (messages: Message[], metadata: RecordMetadata[]) => void;
}

export const DEFAULT_PRODUCER_OPTIONS: Readonly<BatchingProducerOptions> = Object.freeze({
  maxQueuedRecords: 100_000,
  maxQueuedBytes: Infinity,
  maxRecordsPerBatch: 2_000,
  maxPartitionBatchBytes: 1_000_000,
  maxRequestBytes: 4 << 20,
  minSendIntervalMs: 1,
  retryInitialDelayMs: 100,
  retryMaxDelayMs: 5_000,
});

export interface BatchingProducerStats {
  sent: number;
  batches: number;
  refused: number;
  sendErrors: number;
  /** Records of a resolved send that Kafka's answer did not cover (sent again). */
  unconfirmed: number;
  /** Records Kafka refused for good (never retried), by kafkajs error type. */
  dropped: Partial<Record<string, number>>;
}

interface Entry extends QueuedRecord {
  bytes: number;
}

/**
 * Coalesces records produced within one event-loop turn into one Kafka request, keeps
 * exactly one request in flight so per-partition order holds across retries, and bounds
 * memory: once `maxQueuedRecords`/`maxQueuedBytes` is reached, new records are refused and the
 * caller must resync the affected books instead of publishing them with holes.
 *
 * Retriable failures keep every record and retry with backoff. A failure that can never
 * succeed is not retried: a batch-wide one (authorization, acks) drops the batch; a record-level
 * one (too large, invalid) is narrowed down by halving the batch until the offending records
 * are alone, and only those are dropped. `onRefused` hears of every record not delivered.
 */
export class BatchingProducer {
  private queue: Entry[] = [];
  private queuedBytes = 0;
  private inFlight = false;
  private scheduled = false;
  private closed = false;
  private abandoned = false;
  private lastSendAtMs = -Infinity;
  private draining: Promise<void> | undefined;
  private idle: Array<() => void> = [];
  // While isolating a refused record: the head records that contain it, and the probe size.
  private suspect = 0;
  private probe = Infinity;
  private readonly opts: BatchingProducerOptions;
  readonly stats: BatchingProducerStats = {
    sent: 0,
    batches: 0,
    refused: 0,
    sendErrors: 0,
    unconfirmed: 0,
    dropped: {},
  };

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    opts: Partial<BatchingProducerOptions>,
    private readonly onRefused: (symbol: string) => void,
  ) {
    this.opts = { ...DEFAULT_PRODUCER_OPTIONS, ...opts };
  }

  backlog(): number {
    return this.queue.length;
  }

  backlogBytes(): number {
    return this.queuedBytes;
  }

  enqueue(rec: QueuedRecord): boolean {
    const bytes = recordBytes(rec.message);
    if (
      this.closed ||
      this.queue.length >= this.opts.maxQueuedRecords ||
      this.queuedBytes + bytes > this.opts.maxQueuedBytes
    ) {
      this.stats.refused++;
      this.onRefused(rec.symbol);
      return false;
    }
    this.queue.push({ symbol: rec.symbol, message: rec.message, bytes });
    this.queuedBytes += bytes;
    if (!this.scheduled && !this.inFlight) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.draining = this.drain();
      });
    }
    return true;
  }

  /** Resolves once everything queued so far has been acknowledged (or dropped as undeliverable). */
  async flush(): Promise<void> {
    if (this.queue.length === 0 && !this.inFlight) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /**
   * Stops accepting records and waits up to `timeoutMs` for Kafka to take the rest. Past that
   * the rest is abandoned, and it waits (as long again) for the request in flight: kafkajs
   * reconnects if one is still out when it disconnects, and stays open (tulios/kafkajs#1438).
   */
  async close(timeoutMs = Infinity): Promise<void> {
    this.closed = true;
    if (!Number.isFinite(timeoutMs)) return this.flush();
    if (await settlesWithin(this.flush(), timeoutMs)) return;
    this.abandoned = true;
    log.error("kafka did not take the backlog before shutdown", { topic: this.topic, records: this.queue.length });
    await settlesWithin(this.draining ?? Promise.resolve(), timeoutMs);
  }

  /** How many head records the next request takes: a prefix, so per-partition order holds. */
  private nextBatchSize(): number {
    const o = this.opts;
    const maxCount = Math.min(o.maxRecordsPerBatch, this.suspect > 0 ? Math.min(this.probe, this.suspect) : Infinity);
    const perPartition = new Map<number | undefined, number>();
    let total = 0;
    let n = 0;
    for (; n < this.queue.length && n < maxCount; n++) {
      const e = this.queue[n]!;
      const p = e.message.partition;
      const inPartition = (perPartition.get(p) ?? RECORD_BATCH_OVERHEAD_BYTES) + e.bytes;
      if (n > 0 && (inPartition > o.maxPartitionBatchBytes || total + e.bytes > o.maxRequestBytes)) break;
      perPartition.set(p, inPartition);
      total += e.bytes;
    }
    return n;
  }

  private take(n: number): Entry[] {
    const taken = this.queue.splice(0, n);
    for (const e of taken) this.queuedBytes -= e.bytes;
    return taken;
  }

  private drop(n: number, reason: string): void {
    const lost = this.take(n);
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + lost.length;
    log.error("kafka refused records for good; dropped", { topic: this.topic, reason, records: lost.length });
    for (const e of lost) this.onRefused(e.symbol);
  }

  private async drain(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    let attempt = 0;
    while (this.queue.length > 0 && !this.abandoned) {
      // Under load, space requests out a little so each carries many records: kafkajs spends
      // ~100 us of CPU per request, and a broker answering in under a millisecond otherwise
      // leaves ~1 record per request. An idle stream is sent at once.
      const waitMs = this.lastSendAtMs + this.opts.minSendIntervalMs - performance.now();
      if (waitMs > 0) await sleep(waitMs);
      this.lastSendAtMs = performance.now();
      let n = this.nextBatchSize();
      const messages = new Array<Message>(n);
      for (let i = 0; i < n; i++) messages[i] = this.queue[i]!.message;
      try {
        const metadata = await this.producer.send({ topic: this.topic, acks: -1, messages });
        const sent = this.take(n);
        const missing = unconfirmed(sent, metadata);
        if (missing.length > 0) {
          // kafkajs can resolve a send without writing some partitions (a retry after a leader
          // change skips a broker that already answered: tulios/kafkajs#1303). Not acknowledged
          // = not sent: those records go back to the head, in order, and are sent again.
          this.queue.unshift(...missing);
          for (const e of missing) this.queuedBytes += e.bytes;
          this.stats.unconfirmed += missing.length;
          log.warn("kafka acknowledged a request without some of its partitions; re-sending them", {
            topic: this.topic,
            records: missing.length,
          });
        }
        const acked = missing.length === 0 ? messages : sent.filter((e) => !missing.includes(e)).map((e) => e.message);
        this.opts.onAcked?.(acked, metadata);
        n -= missing.length;
        this.stats.sent += n;
        this.stats.batches++;
        this.suspect = Math.max(0, this.suspect - n);
        if (this.suspect === 0) this.probe = Infinity;
        attempt = 0;
      } catch (err) {
        this.stats.sendErrors++;
        const verdict = classifyProduceError(err);
        if (!verdict.retriable) {
          attempt = 0;
          if (verdict.scope === "batch") {
            this.suspect = 0;
            this.probe = Infinity;
            this.drop(n, verdict.reason);
          } else if (n > 1) {
            // Some record of these n is refused: send them in halves until it is alone.
            this.suspect = Math.max(this.suspect, n);
            this.probe = Math.ceil(n / 2);
          } else {
            this.suspect = Math.max(0, this.suspect - 1);
            this.drop(1, verdict.reason);
          }
          continue;
        }
        // kafkajs already retried internally; keep the records (nothing accepted is lost) and back off.
        const e = QuantCoreError.infra("kafka produce", err);
        const delayMs = backoffDelayMs(attempt++, {
          initialDelayMs: this.opts.retryInitialDelayMs,
          maxDelayMs: this.opts.retryMaxDelayMs,
          multiplier: 2,
        });
        log.warn("produce failed; retrying", {
          topic: this.topic,
          err: e.message,
          backlog: this.queue.length,
          delayMs,
        });
        await sleep(delayMs);
      }
    }
    this.inFlight = false;
    for (const resolve of this.idle.splice(0)) resolve();
  }
}

/**
 * Records of an explicit partition that the send's answer does not acknowledge (no entry for
 * the partition, or an error code). Records without an explicit partition cannot be matched and
 * count as acknowledged.
 */
function unconfirmed(sent: Entry[], metadata: RecordMetadata[]): Entry[] {
  const ok = new Set(metadata.filter((m) => m.errorCode === 0).map((m) => m.partition));
  return sent.filter((e) => e.message.partition !== undefined && !ok.has(e.message.partition));
}
