// Results of the load bench: bench/results/<name>.json (everything), <name>.md (tables, one row
// per point, and how to read them) and <name>.svg (e2e p50/p99 against delivered updates/s).
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { FloorResult } from "./kafka-floor.js";
import { E2E, HOPS } from "./load-protocol.js";
import type { FloorRatio, PointResult } from "./load-summary.js";
import { resultsDir } from "./report.js";

const f = (n: number | undefined, digits = 1) =>
  n === undefined || !Number.isFinite(n) ? "–" : n.toLocaleString("en-US", { maximumFractionDigits: digits });

const HOW_TO_READ = `## How to read

- One row per point: the offered load (updates/s over all 30 symbols) runs for the measured seconds after
  a warm-up, on a fresh topic, consumer group and Redis namespace, with every process restarted.
- Throughput: *emitted* = diff events the load generator sent; *produced* = records ingest wrote to Kafka
  (topic end offsets); *consumed* = records the compute group committed; *published* = PUBLISH calls in
  Redis (compute's writes to qc:updates); *client* = live updates the gRPC client received. Compute keeps
  only the newest update of a symbol per batch, so *published* < *consumed* is dedup, not loss
  (writes/record = published / consumed). **Delivered** (the plot's x) = consumed/s.
- A point is **saturated** when the load generator emits < 90% of the offered rate (the host is out of CPU:
  the simulator's timer falls behind), ingest or compute carries < 90% of what was emitted, or the compute
  group's lag trends up by more than a second of offered traffic over the point; the sweep stops there.
  Rates are least-squares slopes of counters sampled every second (compute commits every 500 ms).
- Latency is per live update the client received: e2e = client receive wall clock - ingest receive; the hops
  come from HopTimestamps (exchange -> ingest is skipped: the feed is synthetic). Every process is on one
  host, so all clocks are the same clock.
- Kafka hop / floor: the pipeline's produce -> compute receive p50 (p99) over the floor's produce -> consume
  p50 (p99), bare kafkajs producers and a consumer at the closest floor rate; 1 = the hop costs what Kafka
  with kafkajs costs, more = time spent in our producer/consumer code or waiting for CPU. Two floors: in
  the pipeline's own traffic shape (one producer process per shard, each sending its symbols' records
  together whenever the simulator steps, steps aligned across producers: bursts every 100 ms at 300/s) and
  uniform (one producer, a request every 10 ms). The same broker answers a burst after an idle spell more
  slowly than a steady trickle, so the shaped floor is the one the pipeline can be held to.
- CPU% is of one core (200% = both cores of a 2-core host); µs/update = CPU time per offered update, the
  figure that carries over to another machine. Machine busy% is of all cores. On a saturated host every
  latency includes waiting for a core.
`;

export function writeLoadResults(
  name: string,
  meta: Record<string, unknown>,
  floors: FloorResult[],
  points: PointResult[],
): void {
  const dir = resultsDir();
  writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ ...meta, floors, points }, null, 2) + "\n");
  const procs = points[0] ? Object.keys(points[0].processes) : [];
  const lines = [
    `# ${name}: the deployed topology under load`,
    "",
    ...Object.entries(meta).map(([k, v]) => `- ${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`),
    `- Kafka floor (bare kafkajs, 30 partitions, acks=-1; producers x tick): ${floors
      .map(
        (x) =>
          `${f(x.ratePerSecond, 0)}/s ${x.producers}x${x.tickMs} ms: p50 ${f(x.latencyMs.p50, 2)} ms, p99 ${f(x.latencyMs.p99, 2)} ms, kafkajs CPU per record ${f(x.cpuUsPerRecord.producer, 1)} µs producing, ${f(x.cpuUsPerRecord.consumer, 1)} µs consuming`,
      )
      .join("; ")}`,
    "",
    "## Throughput (updates/s)",
    "",
    "| offered | emitted | produced | consumed | published | client | writes/record | lag start -> end | saturated |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ...points.map(
      (p) =>
        `| ${f(p.offeredPerSecond, 0)} | ${f(p.perSecond.simEmitted)} | ${f(p.perSecond.ingestProduced)} | ${f(p.perSecond.computeConsumed)} | ${f(p.perSecond.redisPublished)} | ${f(p.perSecond.clientReceived)} | ${f(p.dedup.writesPerRecord, 3)} | ${p.lag.start} -> ${p.lag.end} | ${p.saturated ? p.saturationReasons.join("; ") : "no"} |`,
    ),
    "",
    "## Latency (ms)",
    "",
    `| offered | e2e p50 | e2e p90 | e2e p99 | e2e max | ${HOPS.map((h) => `${h} p50 / p99`).join(" | ")} | Kafka hop / floor in the same shape p50, p99 | Kafka hop / uniform floor p50, p99 |`,
    `|---:|---:|---:|---:|---:|${HOPS.map(() => "---:").join("|")}|---:|---:|`,
    ...points.map((p) => {
      const e = p.latencyMs[E2E]!;
      const hops = HOPS.map((h) => `${f(p.latencyMs[h]?.p50, 2)} / ${f(p.latencyMs[h]?.p99, 2)}`);
      const ratio = (k: FloorRatio | undefined) =>
        k
          ? `${f(k.p50, 2)}, ${f(k.p99, 2)} (floor at ${f(k.floorRatePerSecond, 0)}/s, ${k.producers}x${k.tickMs} ms)`
          : "–";
      return `| ${f(p.offeredPerSecond, 0)} | ${f(e.p50, 2)} | ${f(e.p90, 2)} | ${f(e.p99, 2)} | ${f(e.max, 2)} | ${hops.join(" | ")} | ${ratio(p.kafkaHopOverFloor)} | ${ratio(p.kafkaHopOverUniformFloor)} |`;
    }),
    "",
    "## CPU% (of one core) · µs per offered update · peak RSS MB",
    "",
    `| offered | machine busy% | ${procs.join(" | ")} |`,
    `|---:|---:|${procs.map(() => "---:").join("|")}|`,
    ...points.map(
      (p) =>
        `| ${f(p.offeredPerSecond, 0)} | ${f(p.machineBusyPercent)} | ${procs
          .map((n) => {
            const u = p.processes[n]!;
            return `${f(u.cpuPercent)}% · ${f(u.cpuUsPerOfferedUpdate, 0)} µs · ${f(u.peakRssMb, 0)} MB`;
          })
          .join(" | ")} |`,
    ),
    "",
    "## Client checks",
    "",
    "| offered | updates | messages | ids backwards (same epoch) | epochs backwards | ids repeated | late | stale events | resets | stream errors |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...points.map(
      (p) =>
        `| ${f(p.offeredPerSecond, 0)} | ${p.client.updates} | ${p.client.messages} | ${p.client.idsBackwards} | ${p.client.epochsBackwards} | ${p.client.idsRepeated} | ${p.client.late} | ${p.client.staleEvents} | ${p.client.resets} | ${p.client.streamErrors} |`,
    ),
    "",
    "## Read back after each point (the feed stopped, the pipeline drained)",
    "",
    "| offered | Kafka records | id gaps in an epoch | ids not increasing | epochs backwards | Redis = newest in Kafka | recorded-symbol updates = rebuild | problems |",
    "|---:|---:|---:|---:|---:|---:|---:|---|",
    ...points.map(
      ({ offeredPerSecond: o, checks: c }) =>
        `| ${f(o, 0)} | ${c.kafkaRecords} | ${c.gaps} | ${c.idsNotIncreasing} | ${c.epochsBackwards} | ${c.newestInRedis} | ${c.recordedChecked - c.recordedMismatched} of ${c.recordedChecked} | ${c.problems.join("; ") || "none"} |`,
    ),
    "",
    `![e2e latency against delivered updates/s](${name}.svg)`,
    "",
    HOW_TO_READ,
  ];
  writeFileSync(path.join(dir, `${name}.md`), lines.join("\n"));
  writeFileSync(path.join(dir, `${name}.svg`), plot(points));
  console.log(lines.join("\n"));
}

/** x = delivered (consumed) updates/s on a log scale, y = e2e p50 and p99 in ms (linear from 0). */
export function plot(points: PointResult[]): string {
  const [W, H, L, R, T, B] = [720, 440, 70, 20, 40, 60];
  const data = points
    .map((p) => ({ x: p.perSecond.computeConsumed, p50: p.latencyMs[E2E]?.p50, p99: p.latencyMs[E2E]?.p99, p }))
    .filter((d) => d.x > 0 && Number.isFinite(d.p50) && Number.isFinite(d.p99)) as {
    x: number;
    p50: number;
    p99: number;
    p: PointResult;
  }[];
  const xs = data.map((d) => d.x);
  const lo = Math.floor(Math.log10(Math.min(100, ...xs)));
  const hi = Math.ceil(Math.log10(Math.max(1000, ...xs)));
  const yMax = niceCeil(Math.max(10, ...data.map((d) => d.p99)));
  const X = (v: number) => L + ((Math.log10(v) - lo) / (hi - lo)) * (W - L - R);
  const Y = (v: number) => H - B - (v / yMax) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">End-to-end latency (ingest receive -> gRPC client) against throughput</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    const x = X(10 ** e);
    out.push(`<line x1="${x}" y1="${T}" x2="${x}" y2="${H - B}" stroke="#ddd"/>`);
    out.push(`<text x="${x}" y="${H - B + 18}" text-anchor="middle">${f(10 ** e, 0)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const v = (yMax / 5) * i;
    out.push(`<line x1="${L}" y1="${Y(v)}" x2="${W - R}" y2="${Y(v)}" stroke="#eee"/>`);
    out.push(`<text x="${L - 8}" y="${Y(v) + 4}" text-anchor="end">${f(v, 1)}</text>`);
  }
  out.push(
    `<text x="${(L + W - R) / 2}" y="${H - 18}" text-anchor="middle">delivered updates/s (records consumed by compute; log scale)</text>`,
  );
  out.push(
    `<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">e2e latency (ms)</text>`,
  );
  for (const [key, colour] of [
    ["p50", "#1f77b4"],
    ["p99", "#d62728"],
  ] as const) {
    const pts = data.map((d) => `${X(d.x).toFixed(1)},${Y(d[key]).toFixed(1)}`);
    if (pts.length > 1)
      out.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const d of data) {
      const fill = d.p.saturated ? "white" : colour;
      out.push(
        `<circle cx="${X(d.x).toFixed(1)}" cy="${Y(d[key]).toFixed(1)}" r="4" fill="${fill}" stroke="${colour}" stroke-width="2"><title>offered ${d.p.offeredPerSecond}/s: ${key} ${d[key].toFixed(2)} ms</title></circle>`,
      );
    }
  }
  out.push(
    `<g transform="translate(${L + 12} ${T + 10})"><rect width="230" height="54" fill="white" stroke="#ccc"/>`,
    `<line x1="10" y1="16" x2="34" y2="16" stroke="#1f77b4" stroke-width="2"/><text x="40" y="20">e2e p50</text>`,
    `<line x1="10" y1="36" x2="34" y2="36" stroke="#d62728" stroke-width="2"/><text x="40" y="40">e2e p99 (hollow = saturated)</text></g>`,
    "</svg>",
    "",
  );
  return out.join("\n");
}

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((c) => c >= v)!;
}
