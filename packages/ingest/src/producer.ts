import type { Message, Producer } from "kafkajs";
import { QuantCoreError, backoffDelayMs, createLogger, settlesWithin, sleep } from "@quantcore/runtime";

const log = createLogger("ingest.producer");

export interface QueuedRecord {
  symbol: string;
  message: Message;
}

/**
 * Coalesces records produced within one event-loop turn into one Kafka request, keeps
 * exactly one request in flight so per-partition order holds across retries, and bounds
 * memory: once `maxQueuedRecords` is reached, new records are refused and the caller must
 * resync the affected books instead of publishing them with holes.
 */
export class BatchingProducer {
  private queue: QueuedRecord[] = [];
  private inFlight = false;
  private scheduled = false;
  private closed = false;
  private abandoned = false;
  private lastSendAtMs = -Infinity;
  private draining: Promise<void> | undefined;
  private idle: Array<() => void> = [];
  readonly stats = { sent: 0, batches: 0, refused: 0, sendErrors: 0 };

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly opts: { maxQueuedRecords: number; maxRecordsPerBatch: number; minSendIntervalMs: number },
    private readonly onRefused: (symbol: string) => void,
  ) {}

  backlog(): number {
    return this.queue.length;
  }

  enqueue(rec: QueuedRecord): boolean {
    if (this.closed || this.queue.length >= this.opts.maxQueuedRecords) {
      this.stats.refused++;
      this.onRefused(rec.symbol);
      return false;
    }
    this.queue.push(rec);
    if (!this.scheduled && !this.inFlight) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.draining = this.drain();
      });
    }
    return true;
  }

  /** Resolves once everything queued so far has been acknowledged. */
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
      const batch = this.queue.slice(0, this.opts.maxRecordsPerBatch);
      try {
        await this.producer.send({ topic: this.topic, acks: -1, messages: batch.map((r) => r.message) });
        this.queue.splice(0, batch.length);
        this.stats.sent += batch.length;
        this.stats.batches++;
        attempt = 0;
      } catch (err) {
        // kafkajs already retried internally; keep the records (nothing accepted is lost) and back off.
        this.stats.sendErrors++;
        const e = QuantCoreError.infra("kafka produce", err);
        const delayMs = backoffDelayMs(attempt++, { initialDelayMs: 100, maxDelayMs: 5_000, multiplier: 2 });
        log.warn("produce failed; retrying", { err: e.message, backlog: this.queue.length, delayMs });
        await sleep(delayMs);
      }
    }
    this.inFlight = false;
    for (const resolve of this.idle.splice(0)) resolve();
  }
}
