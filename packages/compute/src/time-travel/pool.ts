import { Redis } from "ioredis";
import { logLevel, type Kafka } from "kafkajs";
import {
  QuantCoreError,
  createLogger,
  parseJson,
  settlesWithin,
  sleep,
  timeTravelKeys,
  timeTravelRequestSchema,
  type TimeTravelRejected,
  type TimeTravelRequest,
  createKafka,
} from "@quantcore/runtime";
import type { ComputeOptions } from "../options.js";
import { RateBudget } from "./budget.js";
import type { TimeTravelOptions } from "./options.js";
import { runSession, type SessionCounters } from "./session.js";
import { SessionAbandoned, SessionStreamWriter } from "./stream-writer.js";

const log = createLogger("compute.time-travel");

export interface TimeTravelStats {
  /** Sessions running now. */
  active: number;
  started: number;
  /** Ended with their `end` entry. */
  completed: number;
  /** Ended with a `rejected` entry (horizon, failure, timeout). */
  rejected: number;
  /** Ended because the gateway stopped reading. */
  abandoned: number;
  /** Requests that did not parse (dropped, nobody to answer). */
  badRequests: number;
  records: number;
  updates: number;
}

export interface TimeTravelPoolDeps {
  kafkaBrokers: string[];
  kafkaTopic: string;
  redisUrl: string;
  namespace: string;
  workerId: string;
  signals: Pick<ComputeOptions, "signals" | "ofiWindowsMs" | "ofiMaxEvents">;
  options: TimeTravelOptions;
}

/**
 * The replay worker's time-travel slots: takes a request off `<ns>:tt-requests` (BLPOP) only
 * while it has a free slot, so workers of a pool share the requests and each bounds its
 * concurrency; runs each session (runSession) and answers on the session's stream.
 */
export class TimeTravelPool {
  readonly stats: TimeTravelStats = {
    active: 0,
    started: 0,
    completed: 0,
    rejected: 0,
    abandoned: 0,
    badRequests: 0,
    records: 0,
    updates: 0,
  };
  private readonly redis: Redis;
  /** BLPOP blocks its connection: a connection of its own. */
  private readonly blocking: Redis;
  private readonly kafka: Kafka;
  /** Records/s of all sessions together. */
  private readonly budget: RateBudget;
  private readonly sessions = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private freed: (() => void) | undefined;

  constructor(private readonly d: TimeTravelPoolDeps) {
    this.redis = new Redis(d.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    this.blocking = new Redis(d.redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
    for (const r of [this.redis, this.blocking]) r.on("error", () => {}); // reported through failed calls
    this.budget = new RateBudget(d.options.maxTotalRecordsPerSecond);
    this.kafka = createKafka({
      clientId: "quantcore-time-travel",
      brokers: d.kafkaBrokers,
      logLevel: logLevel.NOTHING,
    });
  }

  async start(): Promise<void> {
    try {
      await Promise.all([this.redis.connect(), this.blocking.connect()]);
    } catch (err) {
      throw QuantCoreError.infra("redis", err);
    }
    this.loop = this.takeRequests();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.freed?.();
    this.blocking.disconnect();
    for (const s of this.sessions.values()) s.abort.abort(new QuantCoreError("unavailable", "replay worker shut down"));
    await settlesWithin(Promise.all([this.loop, ...[...this.sessions.values()].map((s) => s.done)]), 20_000);
    this.redis.disconnect();
  }

  private async takeRequests(): Promise<void> {
    const key = timeTravelKeys(this.d.namespace).requests;
    const pollS = Math.max(0.01, this.d.options.pollTimeoutMs / 1000);
    while (!this.stopped) {
      if (this.sessions.size >= this.d.options.maxSessions) {
        await new Promise<void>((resolve) => (this.freed = resolve));
        continue;
      }
      let popped: [string, string] | null;
      try {
        popped = await this.blocking.blpop(key, pollS);
      } catch (err) {
        if (this.stopped) return;
        log.warn("time-travel request poll failed; retrying", { err: String(err) });
        await sleep(1_000);
        continue;
      }
      if (!popped) continue;
      let req: TimeTravelRequest;
      try {
        req = parseJson(timeTravelRequestSchema, popped[1], key);
      } catch (err) {
        this.stats.badRequests++;
        log.warn("ignored time-travel request", { err: err instanceof Error ? err.message : String(err) });
        continue;
      }
      this.startSession(req);
    }
  }

  private startSession(req: TimeTravelRequest): void {
    const abort = new AbortController();
    this.stats.started++;
    this.stats.active++;
    const done = this.runOne(req, abort.signal).finally(() => {
      this.stats.active--;
      this.sessions.delete(req.session);
      this.freed?.();
      this.freed = undefined;
    });
    this.sessions.set(req.session, { abort, done });
  }

  private async runOne(req: TimeTravelRequest, signal: AbortSignal): Promise<void> {
    const o = this.d.options;
    const out = new SessionStreamWriter(this.redis, this.d.namespace, req.session, o, signal);
    const counters: SessionCounters = { records: 0, updates: 0, badRecords: 0 };
    try {
      // The gateway waits for this before its acceptance deadline.
      out.add("accepted", JSON.stringify({ worker: this.d.workerId }));
      await out.flush();
      log.info("time-travel session started", { session: req.session, startTimeUs: req.startTimeUs });
      await runSession(
        req,
        {
          kafka: this.kafka,
          redis: this.redis,
          namespace: this.d.namespace,
          topic: this.d.kafkaTopic,
          options: o,
          budget: this.budget,
          signals: this.d.signals,
          signal,
        },
        counters,
      );
      this.stats.completed++;
      log.info("time-travel session replayed", { session: req.session, ...counters });
    } catch (err) {
      if (err instanceof SessionAbandoned) {
        await out.remove().catch(() => {});
        // Counted once its keys are gone, and with no await before `active` drops (in the finally
        // above): an observer never sees it abandoned and still active.
        this.stats.abandoned++;
        log.info("time-travel session abandoned by its reader", { session: req.session });
        return;
      }
      this.stats.rejected++;
      const e = err instanceof QuantCoreError ? err : QuantCoreError.infra("replay", err);
      const rejected: TimeTravelRejected = {
        code: (["invalid_argument", "failed_precondition", "resource_exhausted"] as const).find((k) => k === e.kind)
          ? (e.kind as TimeTravelRejected["code"])
          : e.kind === "internal"
            ? "internal"
            : "unavailable",
        message: e.message,
      };
      log.info("time-travel session rejected", { session: req.session, ...rejected });
      const answer = new SessionStreamWriter(
        this.redis,
        this.d.namespace,
        req.session,
        o,
        new AbortController().signal,
      );
      answer.add("rejected", JSON.stringify(rejected));
      await answer.flush().catch(() => {}); // the gateway may be gone too
    } finally {
      this.stats.records += counters.records;
      this.stats.updates += counters.updates;
    }
  }
}
