// The history-wide invariants of the fault suite, judged on the recorded history only (never on
// the pipeline's own counters). Pure: a list of events in, findings out.
import { compareVersion, type HistoryEvent } from "./history.js";

type Ev<T extends HistoryEvent["type"]> = Extract<HistoryEvent, { type: T }>;

export interface Violation {
  invariant: string;
  detail: string;
  t?: number;
}

export interface InvariantSummary {
  acked: number;
  kafkaRecords: number;
  ackedLost: number;
  /** Kafka records (distinct offsets) that repeat a (symbol, epoch, id) already in the topic (re-sent batches). */
  duplicates: number;
  streamUpdates: number;
  streamIdsBackwards: number;
  redisIdsBackwards: number;
  snapshotMissing: number;
  crossedBooks: number;
  nonFinite: number;
  violations: Violation[];
}

const key = (e: { symbol: string; epoch: string; id: string }) => `${e.symbol}|${e.epoch}|${e.id}`;
/** Cap on violations listed per invariant (the counts stay exact). */
const LIST_CAP = 20;

function push(v: Violation[], x: Violation): void {
  if (v.filter((y) => y.invariant === x.invariant).length < LIST_CAP) v.push(x);
}

/** Every acknowledged record is in Kafka: by (partition, offset) when the ack carried one, else by (symbol, epoch, id). */
function ackedInKafka(events: HistoryEvent[], v: Violation[]) {
  const acks = events.filter((e): e is Ev<"ack"> => e.type === "ack");
  const kafka = events.filter((e): e is Ev<"kafka"> => e.type === "kafka");
  const byOffset = new Map<string, Ev<"kafka">>();
  const byKey = new Map<string, number>();
  let duplicates = 0;
  for (const k of kafka) {
    // The reader may see an offset twice (its group rebalanced before it got anywhere): one record.
    if (byOffset.has(`${k.partition}@${k.offset}`)) continue;
    byOffset.set(`${k.partition}@${k.offset}`, k);
    const n = byKey.get(key(k)) ?? 0;
    if (n > 0) duplicates++;
    byKey.set(key(k), n + 1);
  }
  let lost = 0;
  for (const a of acks) {
    const at = a.offset === undefined ? undefined : byOffset.get(`${a.partition}@${a.offset}`);
    const found = a.offset === undefined ? byKey.has(key(a)) : at !== undefined && key(at) === key(a);
    if (!found) {
      lost++;
      push(v, {
        invariant: "acked record lost",
        t: a.t,
        detail: `${a.symbol} epoch ${a.epoch} id ${a.id} (partition ${a.partition}, offset ${a.offset ?? "?"}) acknowledged, not in Kafka`,
      });
    }
  }
  return { acked: acks.length, kafkaRecords: byOffset.size, ackedLost: lost, duplicates };
}

/**
 * Per stream segment (a connection, restarted by a StreamReset) and symbol: snapshot first, then
 * (epoch, id) never lower. A symbol may start with a live update only when its segment's snapshot
 * was empty (the state store had nothing yet, e.g. just after Redis restarted empty): such a start
 * is held as pending and counted as a violation if any snapshot update arrives later in the segment.
 */
function streams(events: HistoryEvent[], v: Violation[]) {
  const last = new Map<string, Ev<"update">>();
  const seen = new Set<string>();
  /** Per stream: snapshot updates seen in the current segment, and live-first updates awaiting judgement. */
  const snapshotsIn = new Map<string, number>();
  const pending = new Map<string, Ev<"update">[]>();
  const liveFirst = (e: Ev<"update">) => {
    snapshotMissing++;
    push(v, { invariant: "live update before snapshot", t: e.t, detail: `${e.stream} ${e.symbol} id ${e.id}` });
  };
  let updates = 0;
  let backwards = 0;
  let snapshotMissing = 0;
  let crossed = 0;
  let nonFinite = 0;
  for (const e of events) {
    if (e.type === "connect" || e.type === "reset" || e.type === "end") {
      for (const k of [...last.keys()]) if (k.startsWith(`${e.stream}|`)) last.delete(k);
      for (const k of [...seen]) if (k.startsWith(`${e.stream}|`)) seen.delete(k);
      snapshotsIn.set(e.stream, 0);
      pending.delete(e.stream); // the segment's snapshot was empty: those live starts were right
      continue;
    }
    if (e.type !== "update") continue;
    updates++;
    const k = `${e.stream}|${e.symbol}`;
    if (e.snapshot) {
      snapshotsIn.set(e.stream, (snapshotsIn.get(e.stream) ?? 0) + 1);
      // A snapshot after live starts: the snapshot was not empty, so those starts came too early.
      for (const p of pending.get(e.stream) ?? []) liveFirst(p);
      pending.delete(e.stream);
    }
    if (!seen.has(k)) {
      seen.add(k);
      if (!e.snapshot) {
        if ((snapshotsIn.get(e.stream) ?? 0) > 0) liveFirst(e);
        else pending.set(e.stream, [...(pending.get(e.stream) ?? []), e]);
      }
    }
    const prev = last.get(k);
    if (prev && compareVersion(e, prev) < 0) {
      backwards++;
      push(v, {
        invariant: "stream id backwards",
        t: e.t,
        detail: `${e.stream} ${e.symbol}: (${e.epoch}, ${e.id}) after (${prev.epoch}, ${prev.id})`,
      });
    }
    if (!prev || compareVersion(e, prev) >= 0) last.set(k, e);
    if (e.bid !== undefined && e.ask !== undefined && e.bid >= e.ask) {
      crossed++;
      push(v, {
        invariant: "crossed book",
        t: e.t,
        detail: `${e.stream} ${e.symbol} id ${e.id}: bid ${e.bid} >= ask ${e.ask}`,
      });
    }
    if (e.bad && e.bad.length > 0) {
      nonFinite++;
      push(v, {
        invariant: "non-finite value",
        t: e.t,
        detail: `${e.stream} ${e.symbol} id ${e.id}: ${e.bad.join(", ")}`,
      });
    }
  }
  return { streamUpdates: updates, streamIdsBackwards: backwards, snapshotMissing, crossedBooks: crossed, nonFinite };
}

/** Redis's stored (epoch, id) per symbol never goes lower (an emptied Redis, after a restart, starts over). */
function redis(events: HistoryEvent[], v: Violation[]) {
  const last = new Map<string, Ev<"redis">>();
  let backwards = 0;
  for (const e of events) {
    if (e.type === "fault" && e.kind === "kill-redis" && e.phase === "start") last.clear();
    if (e.type !== "redis") continue;
    const prev = last.get(e.symbol);
    if (prev && compareVersion(e, prev) < 0) {
      backwards++;
      push(v, {
        invariant: "redis id backwards",
        t: e.t,
        detail: `${e.symbol}: (${e.epoch}, ${e.id}) after (${prev.epoch}, ${prev.id})`,
      });
    } else last.set(e.symbol, e);
  }
  return { redisIdsBackwards: backwards };
}

/** Every history-wide invariant; `events` in recording order (sorted by t where sources interleave). */
export function checkInvariants(events: HistoryEvent[]): InvariantSummary {
  const violations: Violation[] = [];
  return {
    ...ackedInKafka(events, violations),
    ...streams(events, violations),
    ...redis(events, violations),
    violations,
  };
}
