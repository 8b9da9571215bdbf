// The ingest bench's markdown: p50/min/mean/max per 1 s sample, plus the soak's memory.
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { SimSample } from "./ingest-sim.js";
import { type Summary, summarize } from "./report.js";

export type Row = Summary & { min: number };

export const summary = (values: number[]): Row => ({
  ...summarize(values),
  min: values.length > 0 ? Math.min(...values) : NaN,
});

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** What the bench measured (its JSON meta), as much of it as the markdown shows. */
export interface IngestMeta {
  command: string;
  machine: string;
  setup: string;
  secondsToSyncAllBooks: number;
  measuredSeconds: number;
  limitedBy: string;
  targetFramesPerSecond: number;
  ingestCpuPercentMean: number;
  simulatorCpuPercentMean: number;
  ingestBusyMicrosPerFrame: number;
  ingestCpuMicrosPerFrame: number;
  kafkaProduce: unknown;
  totals: unknown;
  date: string;
  soak: {
    frames: number;
    wallSeconds: number;
    trafficMinutesCarried: number;
    oneHourOfTrafficCarried: boolean;
    samples: number;
  };
}

export interface MemoryRows {
  rssAfterWarmupMb: number;
  rssSoakStartMb: number;
  rssEndMb: number;
  rssMaxMb: number;
  rssSlopeMbPer10Min: number;
  heapSoakStartMb: number;
  heapEndMb: number;
  heapMaxMb: number;
  heapSlopeMbPer10Min: number;
}

/** Writes bench/results/ingest.md (a shorter table than writeResults' latency one); returns it. */
export function writeIngestMarkdown(
  meta: IngestMeta,
  rows: Record<string, Row>,
  memRows: MemoryRows,
  warmupSeconds: number,
): string {
  const f = (n: number) => (Number.isFinite(n) ? String(round(n)) : "-");
  const md = [
    "# ingest",
    "",
    `- command: ${meta.command}`,
    `- machine: ${meta.machine}`,
    `- setup: ${meta.setup}; topic with 30 partitions, acks=all`,
    `- books synced after ${meta.secondsToSyncAllBooks} s, then ${warmupSeconds} s warm-up, then ${meta.measuredSeconds} s of 1 s samples`,
    `- limited by: ${meta.limitedBy}; target ${meta.targetFramesPerSecond} frames/s per shard`,
    `- CPU (user+sys, % of one core): ingest ${meta.ingestCpuPercentMean}%, simulator ${meta.simulatorCpuPercentMean}%`,
    `- ingest per frame at the offered rate (not a capacity claim): ${meta.ingestBusyMicrosPerFrame} µs event-loop busy, ${meta.ingestCpuMicrosPerFrame} µs CPU`,
    `- Kafka produce: ${JSON.stringify(meta.kafkaProduce)}`,
    `- totals: ${JSON.stringify(meta.totals)}`,
    `- date: ${meta.date}`,
    "",
    "| 1 s samples | p50 | min | mean | max |",
    "|---|---:|---:|---:|---:|",
    ...Object.entries(rows).map(([k, s]) => `| ${k} | ${f(s.p50)} | ${f(s.min)} | ${f(s.mean)} | ${f(s.max)} |`),
    "",
    `Soak: ${meta.soak.frames} frames in ${meta.soak.wallSeconds} s = ${meta.soak.trafficMinutesCarried} min of 30-symbol @100ms traffic ` +
      `(${meta.soak.oneHourOfTrafficCarried ? "at least" : "LESS than"} one hour); ${meta.soak.samples} samples every 5 s after a forced GC.`,
    "",
    "| memory | after warm-up | soak start | end | max | slope (MB / 10 min) |",
    "|---|---:|---:|---:|---:|---:|",
    `| RSS (MB) | ${f(memRows.rssAfterWarmupMb)} | ${f(memRows.rssSoakStartMb)} | ${f(memRows.rssEndMb)} | ${f(memRows.rssMaxMb)} | ${memRows.rssSlopeMbPer10Min} |`,
    `| heapUsed (MB) | - | ${f(memRows.heapSoakStartMb)} | ${f(memRows.heapEndMb)} | ${f(memRows.heapMaxMb)} | ${memRows.heapSlopeMbPer10Min} |`,
    "",
  ].join("\n");
  writeFileSync(path.resolve(import.meta.dirname, "../results/ingest.md"), md);
  return md;
}

/**
 * The simulator's samples inside the measured window (its own clock; same host, same time origin
 * base): frames/s offered and event-loop use per sample, and their means over the window.
 */
export function simulatorWindow(simSamples: SimSample[], startMs: number, endMs: number) {
  const win = simSamples.filter((s) => s.atMs >= startMs - 500 && s.atMs <= endMs + 500);
  const offered: number[] = [];
  const simElu: number[] = [];
  for (let i = 1; i < win.length; i++) {
    const a = win[i - 1]!;
    const b = win[i]!;
    const dt = (b.atMs - a.atMs) / 1000;
    offered.push((b.framesSent - a.framesSent) / dt);
    const busy = b.eluActive - a.eluActive;
    simElu.push((100 * busy) / (busy + b.eluIdle - a.eluIdle));
  }
  const w0 = win[0];
  const w1 = win.at(-1);
  const offeredMean = w0 && w1 && w1 !== w0 ? (w1.framesSent - w0.framesSent) / ((w1.atMs - w0.atMs) / 1000) : NaN;
  const simEluMean =
    w0 && w1 && w1 !== w0
      ? (100 * (w1.eluActive - w0.eluActive)) / (w1.eluActive - w0.eluActive + w1.eluIdle - w0.eluIdle)
      : NaN;
  const simCpuMean = w0 && w1 && w1 !== w0 ? (100 * (w1.cpuUs - w0.cpuUs)) / 1000 / (w1.atMs - w0.atMs) : NaN;
  return { offered, simElu, offeredMean, simEluMean, simCpuMean };
}
