import type { RecordMetadata } from "kafkajs";
import { QuantCoreError, backoffDelayMs, createLogger, settlesWithin } from "@quantcore/runtime";
import type { ProduceClient } from "./produce-client.js";
import { classifyProduceError } from "./produce-errors.js";
import {
  DEFAULT_PRODUCER_OPTIONS,
  type BatchingProducerOptions,
  type BatchingProducerStats,
  type QueuedRecord,
} from "./producer-options.js";
import { recordBytes } from "./record-size.js";
import { selectRequest, unconfirmed } from "./request-batch.js";
import { SendPacing } from "./send-pacing.js";

export type { BatchingProducerStats, QueuedRecord };

const log = createLogger("ingest.producer");
/** Unacknowledged-partition answers in a row before the producer reconnects. */
const UNCONFIRMED_BEFORE_REFRESH = 3;

interface Entry extends QueuedRecord {
  bytes: number;
  /** In a request now. */
  sending: boolean;
  acked: boolean;
}

/**
 * Coalesces records produced in one event-loop turn into Kafka requests; bounds memory (past
 * `maxQueuedRecords`/`maxQueuedBytes` records are refused and the caller resyncs those books).
 * While all goes well up to `maxInFlightRequests` requests are out, each over partitions no other
 * holds, each partition's records in queue order: per-partition order holds whatever fails. After
 * a failure, one request at a time from the head until one succeeds. Retriable failures keep every
 * record and back off; a refusal for good is not retried: a batch-wide one drops the batch, a
 * record-level one is narrowed down by halving until the offending records are alone, and only
 * those are dropped. `onRefused` hears of every record not delivered.
 */
export class BatchingProducer {
  private queue: Entry[] = [];
  private queuedBytes = 0;
  private inFlight = 0;
  private sendingCount = 0; // queued records in a request now
  private readonly busy /* partitions a request in flight holds */ = new Set<number | undefined>();
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private abandoned = false;
  private lastSendAtMs = -Infinity;
  private notBeforeMs = -Infinity; // no request starts before this (retry backoff)
  private attempt = 0;
  private degraded = false; // a request sent in parallel failed: one at a time from the head until one succeeds
  private idle: Array<() => void> = [];
  private unconfirmedStreak = 0; // sends in a row that Kafka answered without some of their partitions
  private refreshWanted = false;
  private refreshing: Promise<void> | undefined;
  private settled: Array<() => void> = [];
  // While isolating a refused record: the head records that contain it, and the probe size.
  private suspect = 0;
  private probe = Infinity;
  private readonly opts: BatchingProducerOptions;
  private readonly pacing: SendPacing;
  readonly stats: BatchingProducerStats = {
    sent: 0,
    batches: 0,
    refused: 0,
    sendErrors: 0,
    unconfirmed: 0,
    dropped: {},
  };

  constructor(
    private readonly producer: Pick<ProduceClient, "send">,
    private readonly topic: string,
    opts: Partial<BatchingProducerOptions>,
    private readonly onRefused: (symbol: string) => void,
  ) {
    this.opts = { ...DEFAULT_PRODUCER_OPTIONS, ...opts };
    this.pacing = new SendPacing(this.opts);
  }

  backlog(): number {
    return this.queue.length;
  }
  backlogBytes(): number {
    return this.queuedBytes;
  }

  enqueue(rec: QueuedRecord): boolean {
    this.pacing.arrived(performance.now());
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
    this.queue.push({ symbol: rec.symbol, message: rec.message, bytes, sending: false, acked: false });
    this.queuedBytes += bytes;
    this.schedule();
    return true;
  }

  /** Runs `pump` after this event-loop turn, so records produced together share a request. */
  private schedule(): void {
    if (this.scheduled || this.timer) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Resolves once everything queued so far has been acknowledged (or dropped as undeliverable). */
  async flush(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return;
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
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight > 0) await settlesWithin(new Promise<void>((r) => this.settled.push(r)), timeoutMs);
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private pump(): void {
    if (this.refreshWanted && this.inFlight === 0 && this.opts.refreshCluster && !this.refreshing) {
      this.refreshWanted = false;
      log.warn("kafka keeps leaving partitions unacknowledged; refreshing the producer's view of the cluster", {
        topic: this.topic,
      });
      this.refreshing = this.opts
        .refreshCluster()
        .catch((err: unknown) => log.warn("producer refresh failed", { err: String(err) }))
        .finally(() => {
          this.refreshing = undefined;
          this.pump();
        });
    }
    if (this.refreshing) return;
    for (;;) {
      if (this.abandoned) break;
      const serial = this.degraded || this.attempt > 0 || this.suspect > 0;
      if (this.inFlight >= (serial ? 1 : Math.max(1, this.opts.maxInFlightRequests))) return;
      if (this.queue.length === this.sendingCount) break;
      // Under load, requests go a little apart so each carries many records (send-pacing.ts).
      const now = performance.now();
      const startAtMs = Math.max(this.notBeforeMs, this.lastSendAtMs + this.pacing.intervalMs(now));
      if (startAtMs > now) {
        if (!this.timer) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.pump();
          }, startAtMs - now);
        }
        return;
      }
      const o = this.opts;
      const limits = {
        maxRecords: Math.min(o.maxRecordsPerBatch, this.suspect > 0 ? Math.min(this.probe, this.suspect) : Infinity),
        maxPartitionBatchBytes: o.maxPartitionBatchBytes,
        maxRequestBytes: o.maxRequestBytes,
      };
      const batch = selectRequest(this.queue, limits, serial ? { prefix: true } : { prefix: false, busy: this.busy });
      if (batch.length === 0) return;
      this.lastSendAtMs = now;
      this.send(batch, serial);
    }
    if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  private send(batch: Entry[], serial: boolean): void {
    this.inFlight++;
    this.sendingCount += batch.length;
    const partitions = new Set(batch.map((e) => e.message.partition));
    for (const e of batch) e.sending = true;
    for (const p of partitions) this.busy.add(p);
    const messages = batch.map((e) => e.message);
    this.producer
      .send({ topic: this.topic, acks: -1, messages })
      .then(
        (metadata) => this.onSent(batch, metadata, serial),
        (err: unknown) => this.onFailed(batch, err, serial),
      )
      .finally(() => {
        this.inFlight--;
        this.sendingCount -= batch.length;
        for (const e of batch) e.sending = false;
        for (const p of partitions) this.busy.delete(p);
        if (this.inFlight === 0) for (const resolve of this.settled.splice(0)) resolve();
        this.pump();
      });
  }

  private onSent(batch: Entry[], metadata: RecordMetadata[], serial: boolean): void {
    // kafkajs can resolve a send without writing some partitions (a retry after a leader change
    // skips a broker that already answered: tulios/kafkajs#1303). Not acknowledged = not sent:
    // those records stay in place in the queue and go again (their partition was held, so
    // nothing of it went out after them).
    const missing = unconfirmed(batch, metadata);
    const acked = missing.size === 0 ? batch : batch.filter((e) => !missing.has(e));
    if (missing.size > 0) {
      this.stats.unconfirmed += missing.size;
      this.degraded = true;
      // Not at once: kafkajs skips partitions its cached metadata has no usable leader for, and
      // would answer the same way again (the fault suite saw 72,000 such answers in 4 minutes).
      // Back off like a failure; after a few in a row, ask for a fresh view of the cluster.
      this.backOff(new Error(`${missing.size} records of partitions Kafka did not acknowledge`));
      if (++this.unconfirmedStreak % UNCONFIRMED_BEFORE_REFRESH === 0) this.refreshWanted = true;
    } else this.unconfirmedStreak = 0;
    this.opts.onAcked?.(
      acked.map((e) => e.message),
      metadata,
    );
    this.remove(acked);
    this.stats.sent += acked.length;
    this.stats.batches++;
    if (serial) {
      this.suspect = Math.max(0, this.suspect - acked.length);
      if (this.suspect === 0) this.probe = Infinity;
      if (missing.size === 0) {
        this.attempt = 0;
        this.degraded = false;
      }
    }
  }

  private onFailed(batch: Entry[], err: unknown, serial: boolean): void {
    this.stats.sendErrors++;
    const verdict = classifyProduceError(err);
    if (!serial) {
      // Sent beside others: its records go back in place (they never left the queue) and the
      // head is sent alone next, where a refusal can be narrowed down.
      this.degraded = true;
      if (verdict.retriable) this.backOff(err);
      return;
    }
    const n = batch.length;
    if (!verdict.retriable) {
      this.attempt = 0;
      if (verdict.scope === "batch") {
        this.suspect = 0;
        this.probe = Infinity;
        this.drop(batch, verdict.reason);
      } else if (n > 1) {
        // Some record of these n is refused: send them in halves until it is alone.
        this.suspect = Math.max(this.suspect, n);
        this.probe = Math.ceil(n / 2);
      } else {
        this.suspect = Math.max(0, this.suspect - 1);
        this.drop(batch, verdict.reason);
      }
      return;
    }
    this.backOff(err);
  }

  /** kafkajs already retried internally; keep the records (nothing accepted is lost) and back off. */
  private backOff(err: unknown): void {
    const e = QuantCoreError.infra("kafka produce", err);
    const delayMs = backoffDelayMs(this.attempt++, {
      initialDelayMs: this.opts.retryInitialDelayMs,
      maxDelayMs: this.opts.retryMaxDelayMs,
      multiplier: 2,
    });
    this.notBeforeMs = performance.now() + delayMs;
    log.warn("produce failed; retrying", { topic: this.topic, err: e.message, backlog: this.queue.length, delayMs });
  }

  private remove(batch: Entry[]): void {
    for (const e of batch) {
      e.acked = true;
      this.queuedBytes -= e.bytes;
    }
    // A serial request is the head of the queue; a parallel one may be anywhere in it.
    if (this.queue[batch.length - 1] === batch[batch.length - 1] && this.queue[0] === batch[0])
      this.queue.splice(0, batch.length);
    else this.queue = this.queue.filter((e) => !e.acked);
  }

  private drop(batch: Entry[], reason: string): void {
    this.remove(batch);
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + batch.length;
    log.error("kafka refused records for good; dropped", { topic: this.topic, reason, records: batch.length });
    for (const e of batch) this.onRefused(e.symbol);
  }
}
