// Results of the time-travel bench: bench/results/<name>.json (everything) and <name>.md (the
// baselines, one row per (speed, clients) point, and how to read them).
import { writeFileSync } from "node:fs";
import path from "node:path";
import { E2E, HOPS, type ClientReport } from "./load-protocol.js";
import type { ProcSampler } from "./proc-stats.js";
import { resultsDir } from "./report.js";
import type { StreamStats } from "./time-travel-client.js";

type Usage = ReturnType<ProcSampler["finish"]>;
export interface TtBaseline {
  when: string;
  report: ClientReport;
  usage: Usage;
}
export interface TtPoint {
  speed: number;
  clients: number;
  streams: StreamStats[];
  live: ClientReport;
  usage: Usage;
}

const f = (n: number | undefined, digits = 1) =>
  n === undefined || !Number.isFinite(n) ? "–" : n.toLocaleString("en-US", { maximumFractionDigits: digits });

const GATEWAY_HOP = HOPS[3]!;

const signed = (n: number) => (n >= 0 ? `+${f(n, 2)}` : f(n, 2));

/** Per replaying stream that was served (no error): replayed records per second until its handover or the report. */
export function rates(streams: StreamStats[]): number[] {
  return streams.filter((s) => !s.error && s.replaySeconds > 0).map((s) => s.replayed / s.replaySeconds);
}

/** Errors by code, e.g. "ResourceExhausted ×4". */
export function errorSummary(streams: StreamStats[]): string {
  const byCode = new Map<string, number>();
  for (const s of streams) if (s.error) byCode.set(s.error.code, (byCode.get(s.error.code) ?? 0) + 1);
  return [...byCode].map(([c, n]) => `${c} ×${n}`).join(", ") || "none";
}

const HOW_TO_READ = `## How to read

- The log is filled at the demo's rate first; every replaying client then starts at the same time (where every
  symbol had records), for every requested symbol, so each replays the whole log (plus the 30 s OFI warm-up the
  worker reads before the start) and then goes live. One point = K clients opened together at one replay speed
  (10 = ten times the recorded pace, 0 = as fast as the client reads, capped by the worker's 50,000 records/s
  per session) for the stated seconds, on the same pipeline; the sessions are ended between points.
- *records/s per client* = replayed updates / seconds from the stream's open to its handover (or to the end of
  the point when the handover had not come yet), over the clients that were served; *total* = their sum.
  At 10x the replay is paced: its rate is 10x the log's rate, whatever the capacity.
- *errors*: streams ended with a code; one replay worker takes at most TIME_TRAVEL_MAX_SESSIONS sessions, so
  clients beyond it wait in the request list until the gateway's accept deadline (10 s) and get
  RESOURCE_EXHAUSTED ("no replay worker took the request").
- The replaying clients count what they receive off the wire (gRPC over HTTP/2, no decoding): they stand in
  for bots on other hosts, whose decoding would otherwise compete with the live path on this one.
- CPU% is of one core, over the point. The live client (its own process, all 30 symbols) measures e2e =
  its receive wall clock - ingest receive, per live update; compare with the baselines (no replay running).
  *gateway hop* = the live update's redis publish -> gateway send (compute's publish to the fan-out's write):
  the part a replay relayed on the gateway's event loop would hold back.
- The worker's sessions share TIME_TRAVEL_MAX_TOTAL_RECORDS_PER_SECOND (see topology): past it, the clients
  of a point share that rate (warm-up records included), so replays run slower than their speed asks.
`;

export function writeTimeTravelResults(
  name: string,
  meta: Record<string, unknown>,
  baselines: TtBaseline[],
  points: TtPoint[],
): void {
  const dir = resultsDir();
  const cpu = (u: Usage, group: string) => u.groups[group]?.cpuPercent;
  const e2e = (r: ClientReport) => r.latencyMs[E2E];
  const base = baselines[0] ? e2e(baselines[0].report) : undefined;
  /** The live path's hop through the gateway (its event loop): where a relay holding it back shows. */
  const gatewayHop = (r: ClientReport) => r.latencyMs[GATEWAY_HOP];
  const summary = points.map((p) => {
    const r = rates(p.streams);
    const total = r.reduce((a, b) => a + b, 0);
    return {
      speed: p.speed,
      clients: p.clients,
      served: r.length,
      handovers: p.streams.filter((s) => s.handover).length,
      recordsPerSecondPerClient: r.length > 0 ? total / r.length : NaN,
      recordsPerSecondMin: r.length > 0 ? Math.min(...r) : NaN,
      recordsPerSecondTotal: total,
      errors: errorSummary(p.streams),
      workerCpuPercent: cpu(p.usage, "replay worker"),
      gatewayCpuPercent: cpu(p.usage, "gateway"),
      machineBusyPercent: p.usage.machineBusyPercent,
      liveP50Ms: e2e(p.live)?.p50,
      liveP99Ms: e2e(p.live)?.p99,
      liveGatewayHopP99Ms: gatewayHop(p.live)?.p99,
      liveUpdates: p.live.updates,
      liveIdsBackwards: p.live.idsBackwards,
    };
  });
  writeFileSync(
    path.join(dir, `${name}.json`),
    JSON.stringify({ ...meta, baselines, points, summary }, null, 2) + "\n",
  );
  const lines = [
    `# ${name}`,
    "",
    ...Object.entries(meta).map(([k, v]) => `- ${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`),
    "",
    "## Live client without replays",
    "",
    "| when | live updates | e2e p50 ms | e2e p99 ms | gateway hop p99 ms | worker CPU% | gateway CPU% | machine busy% |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...baselines.map(
      (b) =>
        `| ${b.when} | ${f(b.report.updates, 0)} | ${f(e2e(b.report)?.p50, 2)} | ${f(e2e(b.report)?.p99, 2)} | ` +
        `${f(gatewayHop(b.report)?.p99, 2)} | ` +
        `${f(cpu(b.usage, "replay worker"))} | ${f(cpu(b.usage, "gateway"))} | ${f(b.usage.machineBusyPercent)} |`,
    ),
    "",
    "## Replaying clients",
    "",
    "| speed | clients | served | handovers | records/s per client (min) | records/s total | errors | worker CPU% | gateway CPU% | machine busy% | live e2e p50 ms | live e2e p99 ms (Δ vs first baseline) | live gateway hop p99 ms |",
    "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ...summary.map(
      (s) =>
        `| ${s.speed === 0 ? "full" : `${s.speed}x`} | ${s.clients} | ${s.served} | ${s.handovers} | ` +
        `${f(s.recordsPerSecondPerClient, 0)} (${f(s.recordsPerSecondMin, 0)}) | ${f(s.recordsPerSecondTotal, 0)} | ` +
        `${s.errors} | ${f(s.workerCpuPercent)} | ${f(s.gatewayCpuPercent)} | ${f(s.machineBusyPercent)} | ` +
        `${f(s.liveP50Ms, 2)} | ${f(s.liveP99Ms, 2)}${base ? ` (${signed((s.liveP99Ms ?? NaN) - base.p99)})` : ""} | ` +
        `${f(s.liveGatewayHopP99Ms, 2)} |`,
    ),
    "",
    HOW_TO_READ,
  ];
  writeFileSync(path.join(dir, `${name}.md`), lines.join("\n"));
  console.log(lines.join("\n"));
}
