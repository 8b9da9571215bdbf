// The observing client of the load bench, in its own process: one native gRPC (h2c) stream
// subscribed to every symbol, as an independent bot would. Per live update it records the
// end-to-end latency (receive wall clock - ingest receive) and every hop from HopTimestamps,
// and checks that update ids never go backwards within a book epoch. Driven over IPC.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataService, type MarketUpdate } from "@quantcore/proto";
import { EnvReader, nowUs, sleep } from "@quantcore/runtime";
import { E2E, HOPS, type ClientProgress, type ClientReport, type SeenBook, type ToClient } from "./load-protocol.js";
import { summarize } from "./report.js";

const env = new EnvReader();
const baseUrl = env.string("GATEWAY_URL");
const symbols = env.list("SYMBOLS", []);
// Symbols whose every live update is kept for the point's checks (the recorded ones, when replayed).
const checkSymbols = new Set(env.list("CHECK_SYMBOLS", []));
const idleTimeoutMs = env.int("CLIENT_IDLE_TIMEOUT_MS", 30_000, { min: 1000 });
env.done();

/** Growable column of doubles (a plain array of numbers would box on some paths). */
class Column {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  values(): number[] {
    return Array.from(this.data.subarray(0, this.length));
  }
}

let measuring = false;
let stopping = false;
const newWindow = () => ({
  e2e: new Column(),
  hops: HOPS.map(() => new Column()),
  updates: 0,
  messages: 0,
  idsBackwards: 0,
  epochsBackwards: 0,
  idsRepeated: 0,
  late: 0,
  staleEvents: 0,
  resets: 0,
  streamErrors: 0,
  checked: [] as SeenBook[],
});
let w = newWindow();
let received = 0;
const last = new Map<string, { epoch: bigint; id: bigint }>();
const liveSeen = new Set<string>();

function checkOrder(u: MarketUpdate): void {
  const prev = last.get(u.symbol);
  last.set(u.symbol, { epoch: u.bookEpoch, id: u.updateId });
  if (!prev || !measuring) return;
  if (u.bookEpoch < prev.epoch) w.epochsBackwards++;
  else if (u.bookEpoch === prev.epoch && u.updateId < prev.id) w.idsBackwards++;
  else if (u.bookEpoch === prev.epoch && u.updateId === prev.id) w.idsRepeated++;
}

function onUpdate(u: MarketUpdate, recvUs: number): void {
  checkOrder(u);
  if (u.snapshot) return;
  received++;
  liveSeen.add(u.symbol);
  if (!measuring) return;
  w.updates++;
  if (u.late) w.late++;
  const sg = u.signals;
  if (checkSymbols.has(u.symbol) && sg) {
    w.checked.push({
      symbol: u.symbol,
      id: Number(u.updateId),
      obi1: sg.obi1 ?? NaN,
      obi20: sg.obi20 ?? NaN,
      bid: [sg.bestBidPrice ?? NaN, sg.bestBidQuantity ?? NaN],
      ask: [sg.bestAskPrice ?? NaN, sg.bestAskQuantity ?? NaN],
    });
  }
  const t = u.timestamps;
  if (!t || t.ingestReceiveUs === 0) return;
  w.e2e.push((recvUs - t.ingestReceiveUs) / 1000);
  // Exchange -> ingest is skipped: the synthetic feed's event time is the simulator's clock.
  const stamps = [
    t.ingestReceiveUs,
    t.ingestProduceUs,
    t.computeReceiveUs,
    t.computePublishUs,
    t.gatewaySendUs,
    recvUs,
  ];
  for (let i = 0; i < HOPS.length; i++) {
    if (stamps[i]! > 0 && stamps[i + 1]! > 0) w.hops[i]!.push((stamps[i + 1]! - stamps[i]!) / 1000);
  }
}

async function stream(): Promise<void> {
  const client = createClient(MarketDataService, createGrpcTransport({ baseUrl }));
  while (!stopping) {
    const abort = new AbortController();
    // Every stream has a deadline: silence (no update, no keepalive) this long ends it.
    let idle = setTimeout(() => abort.abort(), idleTimeoutMs);
    try {
      const responses = client.streamMarketUpdates(
        { symbols, allowBatches: true, keepaliveIntervalMs: 1000 },
        { signal: abort.signal },
      );
      for await (const res of responses) {
        const recvUs = nowUs();
        clearTimeout(idle);
        idle = setTimeout(() => abort.abort(), idleTimeoutMs);
        if (measuring) w.messages++;
        const e = res.event;
        if (e.case === "update") onUpdate(e.value, recvUs);
        else if (e.case === "batch") for (const u of e.value.updates) onUpdate(u, recvUs);
        else if (e.case === "reset") {
          last.clear();
          if (measuring) w.resets++;
        } else if (e.case === "status" && e.value.state === 2 /* STALE */ && measuring) w.staleEvents++;
      }
    } catch (err) {
      if (stopping) return;
      if (measuring) w.streamErrors++;
      console.error(`[client] stream ended: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      clearTimeout(idle);
    }
    last.clear(); // a new stream starts with a new snapshot
    if (!stopping) await sleep(1000);
  }
}

function report(): ClientReport {
  const r: ClientReport = {
    kind: "report",
    updates: w.updates,
    messages: w.messages,
    latencyMs: {
      [E2E]: summarize(w.e2e.values()),
      ...Object.fromEntries(HOPS.map((h, i) => [h, summarize(w.hops[i]!.values())])),
    },
    idsBackwards: w.idsBackwards,
    epochsBackwards: w.epochsBackwards,
    idsRepeated: w.idsRepeated,
    late: w.late,
    staleEvents: w.staleEvents,
    resets: w.resets,
    streamErrors: w.streamErrors,
    checked: w.checked,
  };
  w = newWindow();
  return r;
}

process.on("message", (m: ToClient) => {
  if (m.kind === "progress") {
    process.send?.({ kind: "progress", liveSymbols: liveSeen.size, received } satisfies ClientProgress);
  } else if (m.kind === "measure") {
    w = newWindow();
    measuring = true;
  } else if (m.kind === "report") {
    measuring = false;
    process.send?.(report());
  } else if (m.kind === "stop") {
    stopping = true;
    process.exit(0);
  }
});
for (const sig of ["SIGTERM", "SIGINT", "disconnect"] as const) process.on(sig, () => process.exit(0));
void stream();
