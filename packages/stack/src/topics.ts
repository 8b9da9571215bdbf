// Topic specs and their config at creation (retention of the order_book log).
import { EnvReader } from "@quantcore/runtime";

export interface TopicSpec {
  name: string;
  partitions: number;
  /** The topic's `retention.ms` (absent = the broker's `log.retention.hours`). */
  retentionMs?: number;
}

/** How long the order_book log is kept by default: time travel reaches this far back. */
export const DEFAULT_RETENTION_HOURS = 24;

/** `retention.ms` of the order_book topic: `KAFKA_RETENTION_HOURS` (default 24), schema-checked. */
export function retentionMsFromEnv(env: Record<string, string | undefined> = process.env): number {
  const reader = new EnvReader(env);
  const hours = reader.int("KAFKA_RETENTION_HOURS", DEFAULT_RETENTION_HOURS, { min: 1, max: 24 * 365 });
  reader.done();
  return hours * 3_600_000;
}

/** The topic's config entries at creation. */
export function topicConfig(t: TopicSpec): { name: string; value: string }[] {
  return t.retentionMs === undefined ? [] : [{ name: "retention.ms", value: String(t.retentionMs) }];
}
