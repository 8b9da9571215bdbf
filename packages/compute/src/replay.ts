import { randomUUID } from "node:crypto";
import { fromBinary, toJsonString } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import { MarketUpdateSchema, SignalsSchema } from "@quantcore/proto";
import { waitFor, type ReplayJobRecord } from "@quantcore/runtime";
import { DEFAULT_COMPUTE_OPTIONS, redisKeys, type ComputeOptions } from "./options.js";
import { createComputeService } from "./service.js";

export interface ReplayOptions {
  kafkaBrokers: string[];
  kafkaTopic: string;
  redisUrl: string;
  /** Namespace holding the live state to compare against. */
  liveNamespace: string;
  /** Where the replay writes; default `replay-<random>`. */
  replayNamespace?: string;
  /** The replay's consumer group; default `quantcore-replay-<random>`. */
  groupId?: string;
  timeoutMs: number;
  /** Aborting stops the replay's consumer and rejects. */
  signal?: AbortSignal;
}

export interface ReplayReport {
  replayNamespace: string;
  groupId: string;
  /** High watermark per partition when the replay started: what it reprocessed. */
  offsets: Record<string, string>;
  symbols: number;
  /** Same update id and identical signals in live and replay. */
  identical: string[];
  /** Live has moved past the replayed offsets (it kept running): not comparable, not a failure. */
  liveAhead: string[];
  /** Differences that mean the two computations disagree. */
  mismatches: string[];
  equal: boolean;
}

/**
 * Kappa reprocessing: a new consumer group reads the topic from offset 0 up to the current
 * high watermarks into a separate namespace, then the result is compared with the live state.
 */
export async function replayAndCompare(
  partial: Partial<ReplayOptions> & Pick<ReplayOptions, "liveNamespace">,
): Promise<ReplayReport> {
  const o: ReplayOptions = {
    kafkaBrokers: DEFAULT_COMPUTE_OPTIONS.kafkaBrokers,
    kafkaTopic: DEFAULT_COMPUTE_OPTIONS.kafkaTopic,
    redisUrl: DEFAULT_COMPUTE_OPTIONS.redisUrl,
    timeoutMs: 300_000,
    ...partial,
  };
  const replayNamespace = o.replayNamespace ?? `replay-${randomUUID().slice(0, 8)}`;
  const groupId = o.groupId ?? `quantcore-replay-${randomUUID().slice(0, 8)}`;
  const admin = new Kafka({ clientId: "quantcore-replay", brokers: o.kafkaBrokers, logLevel: logLevel.WARN }).admin();
  let watermarks: Awaited<ReturnType<typeof admin.fetchTopicOffsets>>;
  try {
    await admin.connect();
    watermarks = await admin.fetchTopicOffsets(o.kafkaTopic);
  } finally {
    await admin.disconnect();
  }
  // Aborted meanwhile: do not start a consumer group nobody waits for.
  o.signal?.throwIfAborted();
  const targets = new Map(
    watermarks.filter((w) => BigInt(w.high) > BigInt(w.low)).map((w) => [w.partition, BigInt(w.high)]),
  );

  const opts: Partial<ComputeOptions> = {
    kafkaBrokers: o.kafkaBrokers,
    kafkaTopic: o.kafkaTopic,
    groupId,
    fromBeginning: true,
    redisUrl: o.redisUrl,
    redisNamespace: replayNamespace,
  };
  const service = createComputeService(opts);
  await service.start();
  try {
    await waitFor(
      () => [...targets].every(([p, high]) => (service.progress().get(p) ?? 0n) >= high),
      "replay to reach the high watermarks",
      { timeoutMs: o.timeoutMs, intervalMs: 100, ...(o.signal ? { signal: o.signal } : {}) },
    );
  } finally {
    await service.stop();
  }

  const redis = new Redis(o.redisUrl);
  try {
    const [live, replayed] = await Promise.all([
      redis.hgetallBuffer(redisKeys(o.liveNamespace).state),
      redis.hgetallBuffer(redisKeys(replayNamespace).state),
    ]);
    const report: ReplayReport = {
      replayNamespace,
      groupId,
      offsets: Object.fromEntries([...targets].map(([p, h]) => [String(p), h.toString()])),
      symbols: Object.keys(replayed).length,
      identical: [],
      liveAhead: [],
      mismatches: [],
      equal: false,
    };
    for (const [symbol, bytes] of Object.entries(replayed)) {
      const r = fromBinary(MarketUpdateSchema, bytes);
      const lb = live[symbol];
      if (!lb) {
        report.mismatches.push(`${symbol}: missing from live state`);
        continue;
      }
      const l = fromBinary(MarketUpdateSchema, lb);
      if (l.updateId > r.updateId) report.liveAhead.push(symbol);
      else if (l.updateId < r.updateId)
        report.mismatches.push(`${symbol}: live ${l.updateId} behind replay ${r.updateId}`);
      else {
        const ls = l.signals ? toJsonString(SignalsSchema, l.signals) : "";
        const rs = r.signals ? toJsonString(SignalsSchema, r.signals) : "";
        if (ls === rs) report.identical.push(symbol);
        else report.mismatches.push(`${symbol}@${r.updateId}: live ${ls} != replay ${rs}`);
      }
    }
    for (const symbol of Object.keys(live))
      if (!replayed[symbol]) report.mismatches.push(`${symbol}: missing from replay`);
    report.equal = report.mismatches.length === 0;
    return report;
  } finally {
    redis.disconnect();
  }
}

/** `equal` / `different` and a one-line summary of the comparison. */
export function describeReport(r: ReplayReport): Pick<ReplayJobRecord, "state" | "detail"> {
  const head = `${r.identical.length} identical, ${r.liveAhead.length} live ahead, ${r.mismatches.length} mismatches`;
  return {
    state: r.equal ? "equal" : "different",
    detail: r.mismatches.length ? `${head}: ${r.mismatches.slice(0, 3).join("; ")}` : head,
  };
}
