// The fault injectors: each does one fault, waits for it to be over, and returns the facts that
// prove it happened (judged by the checker, fault-verdicts.ts). Windows are recorded by the runner.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import http2 from "node:http2";
import { Redis } from "ioredis";
import kafkajs from "kafkajs";
import { partitionFor, shardSymbols } from "@quantcore/ingest";
import { sleep, waitFor } from "@quantcore/runtime";
import { isAlive } from "@quantcore/stack";
import type { FaultKind, Proof } from "./history.js";
import { procState, shardIdOf, type Topology } from "./topology.js";

const { Kafka, logLevel } = kafkajs;

export interface Fault {
  name: string;
  kind: FaultKind;
  expected: string;
  /** Records Kafka must have acknowledged to ingest inside the window. */
  minAcks: number;
  /** First live update on every gateway after the fault ended, at most (full run only). */
  recoveryBoundMs: number;
  inject(t: Topology): Promise<Proof>;
  /** After the window: restore the topology (a restarted instance), not part of the fault. */
  restore?(t: Topology): Promise<void>;
}

async function sigkill(pid: number): Promise<boolean> {
  process.kill(pid, "SIGKILL");
  await waitFor(() => !isAlive(pid), `pid ${pid} gone`, { timeoutMs: 15_000 });
  return !isAlive(pid);
}

/** Every compute heartbeat fresher than `maxAgeMs`, with its partitions. */
async function computeHeartbeats(t: Topology, maxAgeMs = 3000): Promise<Array<{ id: string; partitions: number[] }>> {
  const r = new Redis(t.redis.url, { maxRetriesPerRequest: 1 });
  r.on("error", () => {});
  try {
    const all = await r.hgetall(`${t.namespace}:compute`);
    return Object.entries(all)
      .map(([id, v]) => ({ id, hb: JSON.parse(v) as { partitions: number[]; updatedAtMs: number } }))
      .filter((x) => Date.now() - x.hb.updatedAtMs < maxAgeMs)
      .map((x) => ({ id: x.id, partitions: x.hb.partitions }));
  } finally {
    r.disconnect();
  }
}

async function leaderOf(t: Topology, partition: number): Promise<number> {
  const admin = new Kafka({ clientId: "chaos-faults", brokers: t.cluster.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const md = await admin.fetchTopicMetadata({ topics: [t.topic] });
    return md.topics[0]!.partitions.find((p) => p.partitionId === partition)!.leader;
  } finally {
    await admin.disconnect();
  }
}

const SECOND = 1000;

export const killCompute: Fault = {
  name: "SIGKILL compute-0",
  kind: "kill-compute",
  expected: "compute-1 takes all 30 partitions from the committed offsets; nothing lost, ids forward",
  minAcks: 100,
  recoveryBoundMs: 30 * SECOND,
  async inject(t) {
    const pid = t.computes[0]!.pid;
    const pidGone = await sigkill(pid);
    let takenOver = 0;
    await waitFor(
      async () => {
        const hbs = await computeHeartbeats(t);
        takenOver = hbs.reduce((m, h) => Math.max(m, h.partitions.length), 0);
        return takenOver === 30;
      },
      "the other compute instance owning all 30 partitions",
      { timeoutMs: 120 * SECOND, intervalMs: 500 },
    );
    return { pid, pidGone, partitionsOfSurvivor: takenOver };
  },
  async restore(t) {
    t.relaunchCompute(0);
  },
};

export const killShard: Fault = {
  name: "SIGKILL ingest shard 0",
  kind: "kill-shard",
  expected:
    "the supervisor restarts the shard; its books are rebuilt (new epoch) and produced again; nothing acked lost",
  minAcks: 50,
  recoveryBoundMs: 45 * SECOND,
  async inject(t) {
    const pid = t.shardPids().find((p) => shardIdOf(p) === 0);
    if (pid === undefined) throw new Error("no shard 0 process");
    const killedAt = Date.now();
    const pidGone = await sigkill(pid);
    let restartedPid = 0;
    await waitFor(
      () => {
        restartedPid = t.shardPids().find((p) => p !== pid && shardIdOf(p) === 0) ?? 0;
        return restartedPid > 0;
      },
      "shard 0 restarted by the supervisor",
      { timeoutMs: 60 * SECOND, intervalMs: 250 },
    );
    // The fault lasts until the restarted shard's records are acknowledged again (it reconnected
    // and rebuilt its books), so the window spans the whole outage, not only the process gap.
    const mine = new Set(shardSymbols(t.symbols, 0, t.settings.shards));
    await waitFor(() => ackedSince(t.ackLogFile, killedAt, mine), "shard 0 producing again", {
      timeoutMs: 120 * SECOND,
      intervalMs: 500,
    });
    return { pid, pidGone, restartedPid, backProducingMs: Date.now() - killedAt };
  },
};

/** True when the ack log's tail holds a record of `symbols` acknowledged after `sinceMs`. */
function ackedSince(file: string, sinceMs: number, symbols: Set<string>): boolean {
  const size = statSync(file).size;
  const fd = openSync(file, "r");
  try {
    const len = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf
      .toString("utf8")
      .split("\n")
      .some((line) => {
        if (!line.startsWith("{")) return false;
        try {
          const a = JSON.parse(line) as { t: number; symbol: string };
          return a.t > sinceMs && symbols.has(a.symbol);
        } catch {
          return false;
        }
      });
  } finally {
    closeSync(fd);
  }
}

export const killGateway: Fault = {
  name: "SIGKILL gateway-1",
  kind: "kill-gateway",
  expected: "its streams end; restarted on its ports, a reconnect gets a snapshot then live updates",
  minAcks: 50,
  recoveryBoundMs: 20 * SECOND,
  async inject(t) {
    const pid = t.gateways[1]!.child.pid;
    const pidGone = await sigkill(pid);
    await sleep(5 * SECOND);
    const g = t.relaunchGateway(1);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${g.httpPort}/healthz`)).ok, "gateway-1 back", {
      timeoutMs: 60 * SECOND,
      intervalMs: 250,
    });
    return { pid, pidGone };
  },
};

export const killRedis: Fault = {
  name: "SIGKILL redis, restart on its port",
  kind: "kill-redis",
  expected: "compute and gateways reconnect; state refills from new updates; streams reset and resume",
  minAcks: 10,
  recoveryBoundMs: 30 * SECOND,
  async inject(t) {
    return t.restartRedis();
  },
};

export const stopBroker: Fault = {
  name: "SIGSTOP kafka node 3 for 30 s",
  kind: "stop-broker",
  expected: "its partitions fail over after the session timeout; producers and consumers carry on; SIGCONT rejoins",
  minAcks: 100,
  recoveryBoundMs: 60 * SECOND,
  async inject(t) {
    const node = t.cluster.nodes.find((n) => n.nodeId === 3)!;
    const started = Date.now();
    process.kill(node.pid, "SIGSTOP");
    await sleep(1000);
    const state = procState(node.pid);
    await sleep(29 * SECOND);
    const stoppedMs = Date.now() - started;
    process.kill(node.pid, "SIGCONT");
    return { nodeId: 3, state, stoppedMs };
  },
};

export const killLeader: Fault = {
  name: "SIGKILL the leader of BTCUSDT's partition, then restart it",
  kind: "kill-leader",
  expected: "a replica in the ISR leads; acks=all keeps every acknowledged record; the broker rejoins",
  minAcks: 100,
  recoveryBoundMs: 60 * SECOND,
  async inject(t) {
    const partition = partitionFor("BTCUSDT", t.symbols, 30);
    const leaderBefore = await leaderOf(t, partition);
    const node = t.cluster.nodes.find((n) => n.nodeId === leaderBefore)!;
    const pid = node.pid;
    await t.cluster.kill(leaderBefore);
    const pidGone = !isAlive(pid);
    let leaderAfter = -1;
    await waitFor(
      async () => {
        leaderAfter = await leaderOf(t, partition);
        return leaderAfter >= 0 && leaderAfter !== leaderBefore;
      },
      "a new leader",
      { timeoutMs: 120 * SECOND, intervalMs: 500 },
    );
    // Ingest keeps producing to the new leader for a while before the old one comes back.
    await sleep(15 * SECOND);
    await t.cluster.restart(leaderBefore);
    return { partition, leaderBefore, killedNode: node.nodeId, pidGone, leaderAfter, restarted: true };
  },
};

export const stallIngestKafka: Fault = {
  name: "network stall ingest -> Kafka for 20 s",
  kind: "stall-ingest-kafka",
  expected: "ingest holds its backlog (bounded) and sends it after; nothing acked lost; streams late then live",
  minAcks: 0,
  recoveryBoundMs: 45 * SECOND,
  async inject(t) {
    const before = t.kafkaProxies.map((p) => ({ ...p.counters }));
    for (const p of t.kafkaProxies) p.stall();
    await sleep(20 * SECOND);
    const heldBack = t.kafkaProxies.reduce((a, p, i) => a + p.counters.heldBack - before[i]!.heldBack, 0);
    const whileStalled = t.kafkaProxies.reduce(
      (a, p, i) => a + p.counters.forwardedWhileStalled - before[i]!.forwardedWhileStalled,
      0,
    );
    for (const p of t.kafkaProxies) p.resume();
    return { bytesHeldBack: heldBack, forwardedWhileStalled: whileStalled };
  },
};

export const stallGatewayRedis: Fault = {
  name: "network stall gateway-0 -> Redis for 20 s",
  kind: "stall-gateway-redis",
  expected: "gateway-0's streams go quiet and STALE, then resume; gateway-1 unaffected",
  minAcks: 100,
  recoveryBoundMs: 30 * SECOND,
  async inject(t) {
    const p = t.redisProxy;
    const before = { ...p.counters };
    p.stall();
    await sleep(20 * SECOND);
    const c = { ...p.counters };
    p.resume();
    return {
      bytesHeldBack: c.heldBack - before.heldBack,
      forwardedWhileStalled: c.forwardedWhileStalled - before.forwardedWhileStalled,
    };
  },
};

/** Opens `n` gRPC streams (all symbols) that never read a byte: HTTP/2 flow control stalls them. */
async function stalledStreams(port: number, n: number): Promise<{ ok: number; close(): void }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  const streams: http2.ClientHttp2Stream[] = [];
  let ok = 0;
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          const s = session.request({
            ":method": "POST",
            ":path": "/quantcore.v1.MarketDataService/StreamMarketUpdates",
            "content-type": "application/grpc",
            te: "trailers",
          });
          s.on("error", () => resolve());
          s.on("response", (h) => {
            if (h[":status"] === 200) ok++;
            s.pause(); // never read: the server's writes back up
            resolve();
          });
          setTimeout(resolve, 20_000).unref();
          s.end(Buffer.from([0, 0, 0, 0, 0])); // one empty request message: every symbol
          streams.push(s);
        }),
    ),
  );
  return { ok, close: () => session.destroy() };
}

export const stalledClients: Fault = {
  name: "100 stalled gRPC clients on gateway-1 for 30 s",
  kind: "stalled-clients",
  expected: "the gateway sheds or buffers them within bounds; every other stream stays live",
  minAcks: 100,
  recoveryBoundMs: 10 * SECOND,
  async inject(t) {
    const s = await stalledStreams(t.gateways[1]!.grpcPort, 100);
    await sleep(30 * SECOND);
    s.close();
    return { stalledClients: s.ok };
  },
};

export const badFrames: Fault = {
  name: "burst of malformed and oversize exchange frames",
  kind: "bad-frames",
  expected: "refused frames go to the dead-letter topic, counted; oversize closes and resyncs; no shard crashes",
  minAcks: 50,
  recoveryBoundMs: 45 * SECOND,
  async inject(t) {
    const before = t.shardPids().sort();
    const sent = await t.badFrames({
      symbols: ["BTCUSDT", "ETHUSDT", "SOLUSDT"],
      malformed: 50,
      oversizeBytes: 2 << 20,
    });
    await sleep(10 * SECOND);
    const after = t.shardPids().sort();
    return {
      malformedSent: sent.malformed,
      oversizeSent: sent.oversize,
      shardsRestarted: before.filter((p) => !after.includes(p)).length,
    };
  },
};

export const FULL_SUITE: Fault[] = [
  killCompute,
  killShard,
  killGateway,
  killRedis,
  stopBroker,
  killLeader,
  stallIngestKafka,
  stallGatewayRedis,
  stalledClients,
  badFrames,
];

export const SHORT_SUITE: Fault[] = [killLeader, killCompute];
