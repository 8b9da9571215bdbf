// Per-fault judgement over the recorded history: the fault happened (its proof), records were
// acknowledged meanwhile, Redis caught up with Kafka, streams recovered, and a symbol that went
// quiet was flagged STALE. Pure.
import { compareVersion, type FaultKind, type HistoryEvent, type HistoryMeta, type Proof } from "./history.js";

type Ev<T extends HistoryEvent["type"]> = Extract<HistoryEvent, { type: T }>;

export interface FaultVerdict {
  fault: string;
  kind: FaultKind;
  expected: string;
  observed: string;
  /** First live update on every gateway after the fault ended (max over symbols), seconds. */
  recoverySeconds: number | null;
  /** Redis held Kafka's newest (epoch, id) of every symbol, seconds after the fault ended. */
  convergenceSeconds: number | null;
  acksInWindow: number;
  staleGaps: number;
  staleFlagged: number;
  failures: string[];
  verdict: "PASS" | "FAIL";
}

/** What each kind's proof must show. */
export function proofFailures(kind: FaultKind, p: Proof | undefined): string[] {
  if (!p) return ["no proof recorded"];
  const need = (ok: boolean, what: string) => (ok ? [] : [what]);
  switch (kind) {
    case "kill-compute":
    case "kill-gateway":
      return need(p.pidGone === true, "process still alive after SIGKILL");
    case "kill-shard":
      return [
        ...need(p.pidGone === true, "shard still alive after SIGKILL"),
        ...need(typeof p.restartedPid === "number" && p.restartedPid !== p.pid, "supervisor did not restart the shard"),
        ...need(typeof p.backProducingMs === "number", "the restarted shard's records were not acknowledged"),
      ];
    case "kill-redis":
      return [
        ...need(p.pidGone === true, "redis still alive after SIGKILL"),
        ...need(typeof p.newPid === "number" && p.newPid !== p.pid, "redis not restarted"),
      ];
    case "stop-broker":
      return [
        ...need(p.state === "T", `broker not stopped (state ${String(p.state)})`),
        ...need(Number(p.stoppedMs) >= 29_000, `stopped only ${String(p.stoppedMs)} ms`),
      ];
    case "kill-leader":
      return [
        ...need(p.pidGone === true, "leader still alive after SIGKILL"),
        ...need(p.killedNode === p.leaderBefore, "the killed node was not the leader"),
        ...need(
          typeof p.leaderAfter === "number" && p.leaderAfter >= 0 && p.leaderAfter !== p.leaderBefore,
          `leader did not change (${String(p.leaderBefore)} -> ${String(p.leaderAfter)})`,
        ),
        ...need(p.restarted === true, "broker not restarted"),
      ];
    case "stall-ingest-kafka":
    case "stall-gateway-redis":
      return [
        ...need(Number(p.bytesHeldBack) > 0, "no traffic held back (the proxy saw nothing to stop)"),
        ...need(p.forwardedWhileStalled === 0, `${String(p.forwardedWhileStalled)} bytes forwarded while stalled`),
      ];
    case "stalled-clients":
      return need(Number(p.stalledClients) >= 100, `only ${String(p.stalledClients)} stalled clients connected`);
    case "bad-frames":
      return [
        ...need(Number(p.malformedSent) > 0 && Number(p.oversizeSent) > 0, "no malformed/oversize frames sent"),
        ...need(p.shardsRestarted === 0, `${String(p.shardsRestarted)} shards crashed`),
      ];
  }
}

function between<T extends { t: number }>(xs: T[], from: number, to: number): T[] {
  return xs.filter((x) => x.t >= from && x.t <= to);
}

export function judgeFaults(events: HistoryEvent[], meta: HistoryMeta): FaultVerdict[] {
  const faults = events.filter((e): e is Ev<"fault"> => e.type === "fault");
  const acks = events.filter((e): e is Ev<"ack"> => e.type === "ack");
  const kafka = events.filter((e): e is Ev<"kafka"> => e.type === "kafka");
  const redis = events.filter((e): e is Ev<"redis"> => e.type === "redis");
  const updates = events.filter((e): e is Ev<"update"> => e.type === "update");
  const statuses = events.filter((e): e is Ev<"status"> => e.type === "status");
  const gatewayOf = new Map<string, string>();
  for (const e of events) if (e.type === "connect") gatewayOf.set(e.stream, e.gateway);
  const historyEnd = events.reduce((m, e) => Math.max(m, e.t), 0);
  const starts = faults.filter((f) => f.phase === "start");
  const out: FaultVerdict[] = [];
  starts.forEach((start, i) => {
    const end = faults.find((f) => f.phase === "end" && f.fault === start.fault && f.t >= start.t);
    const spec = meta.faults[start.fault] ?? { minAcks: 0, expected: "" };
    const failures: string[] = [];
    if (!end) {
      out.push({
        fault: start.fault,
        kind: start.kind,
        expected: spec.expected,
        observed: "fault never ended",
        recoverySeconds: null,
        convergenceSeconds: null,
        acksInWindow: 0,
        staleGaps: 0,
        staleFlagged: 0,
        failures: ["no end event"],
        verdict: "FAIL",
      });
      return;
    }
    const horizon = starts[i + 1]?.t ?? historyEnd;
    failures.push(...proofFailures(start.kind, end.proof));
    const acksInWindow = between(acks, start.t, end.t).length;
    if (acksInWindow < spec.minAcks) failures.push(`${acksInWindow} acks in the window < ${spec.minAcks}`);

    // Recovery: per gateway and symbol live before the fault, the first live update after its end.
    let recoveryMs: number | null = 0;
    const before = between(updates, start.t - 10_000, start.t).filter((u) => !u.snapshot);
    const pairs = new Set(before.map((u) => `${gatewayOf.get(u.stream)}|${u.symbol}`));
    for (const pair of pairs) {
      const first = updates.find(
        (u) => u.t > end.t && u.t <= horizon && !u.snapshot && `${gatewayOf.get(u.stream)}|${u.symbol}` === pair,
      );
      if (!first) {
        failures.push(`no live update for ${pair} after the fault`);
        recoveryMs = null;
        break;
      }
      recoveryMs = Math.max(recoveryMs, first.t - end.t);
    }
    if (recoveryMs !== null && spec.recoveryBoundMs !== undefined && recoveryMs > spec.recoveryBoundMs) {
      failures.push(`recovery ${(recoveryMs / 1000).toFixed(1)} s > ${spec.recoveryBoundMs / 1000} s`);
    }

    // Convergence: Redis reaches, per symbol, the newest (epoch, id) Kafka held when the fault ended.
    const target = new Map<string, Ev<"kafka">>();
    for (const k of kafka) {
      if (k.t > end.t) break;
      const prev = target.get(k.symbol);
      if (!prev || compareVersion(k, prev) > 0) target.set(k.symbol, k);
    }
    let convergenceMs: number | null = 0;
    for (const [symbol, want] of target) {
      const hit = redis.find((r) => r.symbol === symbol && compareVersion(r, want) >= 0 && r.t <= horizon);
      if (!hit) {
        failures.push(`redis never reached ${symbol} (${want.epoch}, ${want.id})`);
        convergenceMs = null;
        break;
      }
      convergenceMs = Math.max(convergenceMs, Math.max(0, hit.t - end.t));
    }
    if (convergenceMs !== null && convergenceMs > meta.convergenceBoundMs) {
      failures.push(
        `redis caught up after ${(convergenceMs / 1000).toFixed(1)} s > ${meta.convergenceBoundMs / 1000} s`,
      );
    }

    // Staleness: a live-update gap past the threshold, on a connected stream, must carry a STALE.
    const { gaps, flagged } = staleness(updates, statuses, events, start.t, horizon, meta);
    if (flagged < gaps) failures.push(`${gaps - flagged} of ${gaps} quiet spells without a STALE status`);

    const rec = recoveryMs === null ? "never" : `${(recoveryMs / 1000).toFixed(1)} s`;
    const conv = convergenceMs === null ? "never" : `${(convergenceMs / 1000).toFixed(1)} s`;
    out.push({
      fault: start.fault,
      kind: start.kind,
      expected: spec.expected,
      observed: `${acksInWindow} acked in window; streams live again after ${rec}; redis = kafka after ${conv}; ${flagged}/${gaps} quiet spells flagged STALE`,
      recoverySeconds: recoveryMs === null ? null : Math.round(recoveryMs / 100) / 10,
      convergenceSeconds: convergenceMs === null ? null : Math.round(convergenceMs / 100) / 10,
      acksInWindow,
      staleGaps: gaps,
      staleFlagged: flagged,
      failures,
      verdict: failures.length === 0 ? "PASS" : "FAIL",
    });
  });
  return out;
}

/** Quiet spells (no live update of a symbol on a stream that stays connected) longer than the threshold + grace, and how many carried a STALE status. */
function staleness(
  updates: Ev<"update">[],
  statuses: Ev<"status">[],
  events: HistoryEvent[],
  from: number,
  to: number,
  meta: HistoryMeta,
): { gaps: number; flagged: number } {
  const limit = meta.staleAfterMs + meta.staleGraceMs;
  const breaks = events.filter((e) => (e.type === "connect" || e.type === "end" || e.type === "reset") && e.t >= from);
  const byKey = new Map<string, Ev<"update">[]>();
  for (const u of updates) {
    if (u.snapshot || u.t < from - limit || u.t > to) continue;
    const k = `${u.stream}|${u.symbol}`;
    (byKey.get(k) ?? byKey.set(k, []).get(k)!).push(u);
  }
  let gaps = 0;
  let flagged = 0;
  for (const [k, us] of byKey) {
    const [stream, symbol] = k.split("|") as [string, string];
    for (let j = 1; j < us.length; j++) {
      const a = us[j - 1]!.t;
      const b = us[j]!.t;
      if (b - a <= limit || b < from) continue;
      // A reconnect inside the spell is a new stream, judged on its own snapshot.
      if (breaks.some((e) => "stream" in e && e.stream === stream && e.t > a && e.t < b)) continue;
      gaps++;
      if (
        statuses.some((s) => s.stream === stream && s.symbol === symbol && s.state === "STALE" && s.t > a && s.t < b)
      ) {
        flagged++;
      }
    }
  }
  return { gaps, flagged };
}
