// One load point's summary: rates as least-squares slopes of the sampled counters, saturation,
// dedup, and the Kafka hop over the floors.
import type { FloorResult } from "./kafka-floor.js";
import type { PointChecks } from "./load-checks.js";
import type { Offsets } from "./load-kafka.js";
import type { ClientReport } from "./load-protocol.js";
import { round, type GroupUsage, type ProcSampler } from "./proc-stats.js";

export interface FloorRatio {
  floorRatePerSecond: number;
  producers: number;
  tickMs: number;
  p50: number;
  p99: number;
}

export interface PointResult {
  offeredPerSecond: number;
  perSymbolPerSecond: number;
  measuredSeconds: number;
  /** Time from starting the processes to every symbol live at the client. */
  startupSeconds: number;
  perSecond: {
    simEmitted: number;
    ingestProduced: number;
    computeConsumed: number;
    redisPublished: number;
    clientReceived: number;
  };
  dedup: { recordsConsumed: number; writesPublished: number; writesPerRecord: number };
  latencyMs: ClientReport["latencyMs"];
  /** Over the floor in the same traffic shape (a producer per shard, the simulator's bursts). */
  kafkaHopOverFloor?: FloorRatio;
  /** Over the uniform floor (one producer, a request every 10 ms). */
  kafkaHopOverUniformFloor?: FloorRatio;
  /** Records behind (end offsets - committed) at the start and end; trend = slope x window. */
  lag: { start: number; end: number; trendPerPoint: number };
  processes: Record<string, GroupUsage>;
  machineBusyPercent: number;
  client: Omit<ClientReport, "kind" | "latencyMs" | "checked">;
  /** Read back from outside after the point drained (load-checks.ts). */
  checks: PointChecks;
  saturated: boolean;
  saturationReasons: string[];
}

export interface Sample extends Offsets {
  /** Seconds (monotonic). */
  t: number;
  published: number;
  emitted: number;
}

/** Least-squares slope of y over t: a counter's rate. */
function slope(samples: Sample[], y: (s: Sample) => number): number {
  const n = samples.length;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const my = samples.reduce((a, s) => a + y(s), 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mt) * (y(s) - my);
    den += (s.t - mt) ** 2;
  }
  return den > 0 ? num / den : NaN;
}

export function summarizePoint(
  deliveredShare: number,
  p: {
    offeredPerSecond: number;
    perSymbolPerSecond: number;
    startupSeconds: number;
    seconds: number;
    samples: Sample[];
    report: ClientReport;
    usage: ReturnType<ProcSampler["finish"]>;
    floor?: FloorResult;
    uniformFloor?: FloorResult;
    checks: PointChecks;
  },
): PointResult {
  const { kind: _kind, latencyMs, checked: _checked, ...client } = p.report;
  const first = p.samples[0]!;
  const last = p.samples.at(-1)!;
  const rate = (y: (s: Sample) => number) => round(slope(p.samples, y), 1);
  const perSecond = {
    simEmitted: rate((x) => x.emitted),
    ingestProduced: rate((x) => x.produced),
    computeConsumed: rate((x) => x.consumed),
    redisPublished: rate((x) => x.published),
    clientReceived: round(p.report.updates / p.seconds, 1),
  };
  // The generator is judged against the offered rate (below it, the host is out of CPU: the
  // simulator's timer falls behind); the pipeline's stages against what was actually emitted.
  const reasons: string[] = [];
  const share = (v: number, of: number) => `${Math.round((v / of) * 100)}%`;
  const emitted = perSecond.simEmitted;
  if (!(emitted >= deliveredShare * p.offeredPerSecond)) {
    reasons.push(`load generator emitted ${share(emitted, p.offeredPerSecond)} of offered`);
  }
  for (const [stage, v] of [
    ["ingest produced", perSecond.ingestProduced],
    ["compute consumed", perSecond.computeConsumed],
  ] as const) {
    if (!(v >= deliveredShare * emitted)) reasons.push(`${stage} ${share(v, emitted)} of emitted`);
  }
  // Lag growing: over the point, more than a second of offered traffic piled up (trend, not the end values).
  const lagGrowth = Math.round(slope(p.samples, (x) => x.lag) * (last.t - first.t));
  if (lagGrowth > Math.max(1000, p.offeredPerSecond)) reasons.push(`consumer lag grew by ~${lagGrowth} records`);
  const hop = latencyMs["kafka produce -> compute receive"];
  const overFloor = (floor: FloorResult | undefined) =>
    floor && hop
      ? {
          floorRatePerSecond: floor.ratePerSecond,
          producers: floor.producers,
          tickMs: floor.tickMs,
          p50: round(hop.p50 / floor.latencyMs.p50, 2),
          p99: round(hop.p99 / floor.latencyMs.p99, 2),
        }
      : undefined;
  return {
    offeredPerSecond: p.offeredPerSecond,
    perSymbolPerSecond: round(p.perSymbolPerSecond, 2),
    measuredSeconds: p.seconds,
    startupSeconds: p.startupSeconds,
    perSecond,
    dedup: {
      recordsConsumed: last.consumed - first.consumed,
      writesPublished: last.published - first.published,
      writesPerRecord: round(perSecond.redisPublished / perSecond.computeConsumed, 3),
    },
    latencyMs,
    kafkaHopOverFloor: overFloor(p.floor),
    kafkaHopOverUniformFloor: overFloor(p.uniformFloor),
    lag: { start: first.lag, end: last.lag, trendPerPoint: lagGrowth },
    processes: p.usage.groups,
    machineBusyPercent: p.usage.machineBusyPercent,
    client,
    checks: p.checks,
    saturated: reasons.length > 0,
    saturationReasons: reasons,
  };
}
