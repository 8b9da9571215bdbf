import type { Admin, Kafka } from "kafkajs";
import { createLogger, settlesWithin } from "@quantcore/runtime";
import type { OffsetTracker } from "./offsets.js";

const log = createLogger("compute.lag");

export interface LagProbeOptions {
  topic: string;
  groupId: string;
  /** Where a partition the group never committed starts (the consumer's reset policy). */
  fromBeginning: boolean;
  intervalMs: number;
}

/**
 * Consumer lag where Kafka is: every interval one admin round trip for the topic's high
 * watermarks and the group's committed offsets, fed to the OffsetTracker. A fetch reports the
 * high watermark only of partitions that returned records, so without this a quiet partition
 * (or one never fetched since the assignment) would have no lag at all. Published in the
 * instance heartbeat; the gateway only reads it.
 */
export class LagProbe {
  private admin: Admin | undefined;
  private connected: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  /** Probes that failed (broker away): lag then stays at its last known values. */
  failures = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly offsets: OffsetTracker,
    private readonly opts: LagProbeOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.probe(), this.opts.intervalMs);
    void this.probe();
  }

  /** One probe (at most one in flight). */
  probe(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.inFlight ??= this.run().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async run(): Promise<void> {
    try {
      if (!this.admin) {
        this.admin = this.kafka.admin();
        this.connected = this.admin.connect();
      }
      await this.connected;
      if (this.stopped) return;
      // Both settle before we go on: a request still running after the admin was dropped on the
      // other's failure would reconnect a broker and hold the process open.
      const [endsR, committedR] = await Promise.allSettled([
        this.admin.fetchTopicOffsets(this.opts.topic),
        this.admin.fetchOffsets({ groupId: this.opts.groupId, topics: [this.opts.topic] }),
      ]);
      if (endsR.status === "rejected") throw endsR.reason;
      if (committedR.status === "rejected") throw committedR.reason;
      const [ends, committed] = [endsR.value, committedR.value];
      const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      for (const e of ends) {
        const c = done.get(e.partition) ?? -1n;
        const start = c >= 0n ? c : this.opts.fromBeginning ? BigInt(e.low) : BigInt(e.high);
        this.offsets.observeHighWatermark(e.partition, BigInt(e.high));
        this.offsets.observeGroupPosition(e.partition, start);
      }
    } catch (err) {
      this.failures++;
      log.debug("lag probe failed", { err: err instanceof Error ? err.message : String(err) });
      // A fresh admin next time: a broken one may never reconnect.
      const a = this.admin;
      this.admin = undefined;
      this.connected = undefined;
      if (a) await settlesWithin(a.disconnect(), 5_000);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    // A request in flight at disconnect would reconnect a broker and hold the process open.
    if (this.inFlight) await settlesWithin(this.inFlight, 10_000);
    const a = this.admin;
    this.admin = undefined;
    if (a && !(await settlesWithin(a.disconnect(), 5_000))) log.warn("kafka admin disconnect timed out");
  }
}
