// The ingest bench's soak phase: RSS and heapUsed after a forced GC every 5 s, with their slopes.
import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";
import type { IngestService, IngestStats } from "@quantcore/ingest";
import { sleep } from "@quantcore/runtime";
import type { MemoryRows } from "./ingest-report.js";

const MB = 2 ** 20;
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

// A forced GC before each memory sample, so RSS/heap reflect live data rather than GC timing.
export const gc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
  })();

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

export interface SoakResult {
  mem: { t: number; rssMb: number; heapMb: number }[];
  frames: number;
  wallSeconds: number;
  rssSlopeMbPerSecond: number;
  heapSlopeMbPerSecond: number;
}

/**
 * At least `soakSeconds` and until `soakFrames` frames went through, at most `soakMaxSeconds`;
 * `onSample` sees the service's stats every 5 s (and may throw to end the run).
 */
export async function soak(
  svc: IngestService,
  o: { soakSeconds: number; soakFrames: number; soakMaxSeconds: number },
  onSample: (st: IngestStats) => void,
): Promise<SoakResult> {
  const mem: SoakResult["mem"] = [];
  const soakStart = svc.stats();
  const soakT0 = performance.now();
  const sampleMem = () => {
    gc();
    const m = process.memoryUsage();
    mem.push({ t: (performance.now() - soakT0) / 1000, rssMb: m.rss / MB, heapMb: m.heapUsed / MB });
  };
  let soakEnd = soakStart;
  if (o.soakSeconds > 0 || o.soakFrames > 0) {
    sampleMem();
    for (;;) {
      await sleep(5000);
      sampleMem();
      soakEnd = svc.stats();
      onSample(soakEnd);
      const elapsed = (performance.now() - soakT0) / 1000;
      const frames = soakEnd.frames - soakStart.frames;
      if (Math.round(elapsed) % 30 === 0) {
        console.log(
          `soak ${Math.round(elapsed)} s: ${frames} frames, rss ${round(mem.at(-1)!.rssMb)} MB, heap ${round(mem.at(-1)!.heapMb)} MB`,
        );
      }
      if ((elapsed >= o.soakSeconds && frames >= o.soakFrames) || elapsed >= o.soakMaxSeconds) break;
    }
  }
  const ts = mem.map((m) => m.t);
  return {
    mem,
    frames: soakEnd.frames - soakStart.frames,
    wallSeconds: (performance.now() - soakT0) / 1000,
    rssSlopeMbPerSecond: slope(
      ts,
      mem.map((m) => m.rssMb),
    ),
    heapSlopeMbPerSecond: slope(
      ts,
      mem.map((m) => m.heapMb),
    ),
  };
}

/** The soak's memory table: start, end, max and slope (per 10 minutes) of RSS and heapUsed. */
export function memoryRows(soaked: SoakResult, rssAfterWarmupMb: number): MemoryRows {
  const { mem } = soaked;
  return {
    rssAfterWarmupMb: round(rssAfterWarmupMb),
    rssSoakStartMb: round(mem[0]?.rssMb ?? NaN),
    rssEndMb: round(mem.at(-1)?.rssMb ?? NaN),
    rssMaxMb: round(Math.max(...mem.map((m) => m.rssMb))),
    rssSlopeMbPer10Min: round(soaked.rssSlopeMbPerSecond * 600, 2),
    heapSoakStartMb: round(mem[0]?.heapMb ?? NaN),
    heapEndMb: round(mem.at(-1)?.heapMb ?? NaN),
    heapMaxMb: round(Math.max(...mem.map((m) => m.heapMb))),
    heapSlopeMbPer10Min: round(soaked.heapSlopeMbPerSecond * 600, 2),
  };
}
