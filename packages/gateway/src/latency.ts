import * as hdr from "hdr-histogram-js";
import type { MarketUpdate } from "@quantcore/proto";

export const LAYERS = [
  ["exchange -> ingest", "exchangeEventUs", "ingestReceiveUs"],
  ["ingest", "ingestReceiveUs", "ingestProduceUs"],
  ["kafka", "ingestProduceUs", "computeReceiveUs"],
  ["compute", "computeReceiveUs", "computePublishUs"],
  ["redis -> gateway", "computePublishUs", "gatewayReceiveUs"],
  ["end to end (ingest -> gateway)", "ingestReceiveUs", "gatewayReceiveUs"],
] as const;

const MAX_US = 3_600_000_000;
// Two significant digits (1%) is plenty for p50/p99, and keeps each histogram ~13 KB instead of
// ~94 KB: there are 6 layers x 60 one-second slots of them.
const newHistogram = () =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: MAX_US, numberOfSignificantValueDigits: 2 });

/**
 * Per-layer latency over a sliding window: one HDR histogram per second per layer, summed over
 * the last `windowSeconds` on demand. Values in microseconds, reported in milliseconds.
 */
export class SlidingLatency {
  private readonly slots: { second: number; h: hdr.Histogram[] }[] = [];

  constructor(private readonly windowSeconds = 60) {}

  observe(u: MarketUpdate, gatewayReceiveUs: number): void {
    const t = u.timestamps;
    if (!t) return;
    const second = Math.floor(gatewayReceiveUs / 1e6);
    let slot = this.slots.at(-1);
    if (!slot || slot.second !== second) {
      slot = { second, h: LAYERS.map(newHistogram) };
      this.slots.push(slot);
      while (this.slots.length > this.windowSeconds) this.slots.shift();
    }
    const at = (k: (typeof LAYERS)[number][1 | 2]) => (k === "gatewayReceiveUs" ? gatewayReceiveUs : t[k]);
    LAYERS.forEach(([, from, to], i) => {
      const a = at(from);
      const b = at(to);
      // Over an hour is not latency but a replayed recording's old event time (or a broken clock).
      if (a > 0 && b >= a && b - a < MAX_US) slot.h[i]!.recordValue(Math.max(1, Math.round(b - a)));
    });
  }

  summary(nowUs: number): { layer: string; p50Ms: number; p99Ms: number; count: bigint }[] {
    const oldest = Math.floor(nowUs / 1e6) - this.windowSeconds;
    const live = this.slots.filter((s) => s.second > oldest);
    return LAYERS.map(([layer], i) => {
      const sum = newHistogram();
      for (const s of live) sum.add(s.h[i]!);
      const r = {
        layer,
        p50Ms: sum.getValueAtPercentile(50) / 1000,
        p99Ms: sum.getValueAtPercentile(99) / 1000,
        count: BigInt(sum.totalCount),
      };
      sum.destroy();
      return r;
    });
  }
}
