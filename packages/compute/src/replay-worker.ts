import { hostname } from "node:os";
import { Redis } from "ioredis";
import { logLevel } from "kafkajs";
import {
  QuantCoreError,
  createLogger,
  parseJson,
  redisKeys,
  replayCommandSchema,
  replayNamespace,
  retry,
  settlesWithin,
  type ReplayJobRecord,
  createKafka,
} from "@quantcore/runtime";
import type { Registry } from "prom-client";
import { createReplayWorkerMetrics } from "./metrics.js";
import { DEFAULT_COMPUTE_OPTIONS } from "./options.js";
import { ReplayJobStore } from "./replay-jobs.js";
import { deleteGroup } from "./kafka-groups.js";
import { describeReport, replayAndCompare } from "./replay.js";
import { DEFAULT_TIME_TRAVEL_OPTIONS, type TimeTravelOptions } from "./time-travel/options.js";
import { TimeTravelPool, type TimeTravelStats } from "./time-travel/pool.js";

const log = createLogger("compute.replay-worker");
const SHUTDOWN = "shutdown";

export interface ReplayWorkerOptions {
  kafkaBrokers: string[];
  kafkaTopic: string;
  redisUrl: string;
  /** The live namespace: commands and jobs live here, replays are compared with its state. */
  redisNamespace: string;
  /** Names this worker in the jobs it runs; default host:pid. */
  workerId: string;
  /** A finished job, its namespace and its consumer group are removed this long after it ended. */
  retentionMs: number;
  /** How often finished jobs are checked against the retention. */
  cleanupIntervalMs: number;
  /** A replay still running after this is failed. */
  replayTimeoutMs: number;
  /** How often a running job's `updatedAtMs` is refreshed. */
  refreshIntervalMs: number;
  /** A running job not refreshed for this long lost its worker: it is marked failed. */
  orphanAfterMs: number;
  /** Time-travel sessions (StreamMarketUpdates with a start time): bounds and pacing. */
  timeTravel: TimeTravelOptions;
  /** Compute's signal settings, so replayed signals equal the live ones. */
  signals: Pick<typeof DEFAULT_COMPUTE_OPTIONS, "signals" | "ofiWindowsMs" | "ofiMaxEvents">;
}

export const DEFAULT_REPLAY_WORKER_OPTIONS: Readonly<ReplayWorkerOptions> = Object.freeze({
  kafkaBrokers: DEFAULT_COMPUTE_OPTIONS.kafkaBrokers,
  kafkaTopic: DEFAULT_COMPUTE_OPTIONS.kafkaTopic,
  redisUrl: DEFAULT_COMPUTE_OPTIONS.redisUrl,
  redisNamespace: DEFAULT_COMPUTE_OPTIONS.redisNamespace,
  workerId: `${hostname()}:${process.pid}:replay`,
  retentionMs: 24 * 3_600_000,
  cleanupIntervalMs: 60_000,
  replayTimeoutMs: 30 * 60_000,
  refreshIntervalMs: 1_000,
  orphanAfterMs: 30_000,
  timeTravel: DEFAULT_TIME_TRAVEL_OPTIONS,
  signals: DEFAULT_COMPUTE_OPTIONS,
});

export interface ReplayWorkerStats {
  commands: number;
  rejectedCommands: number;
  started: number;
  refused: number;
  finished: number;
  /** Jobs removed with their namespace and consumer group after the retention. */
  cleaned: number;
  /** Running jobs of a vanished worker marked failed. */
  orphaned: number;
}

export interface ReplayWorker {
  readonly options: Readonly<ReplayWorkerOptions>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One cleanup pass (also run every cleanupIntervalMs). */
  cleanup(): Promise<void>;
  stats(): ReplayWorkerStats;
  /** Time-travel sessions served by this worker. */
  timeTravelStats(): TimeTravelStats;
  /** Prometheus metrics (served by the app on /metrics). */
  readonly metrics: Registry;
  /** Listening for commands: /readyz. */
  ready(): boolean;
}

/**
 * Runs Kappa replays on command (`<ns>:replay-commands`, from the gateway's StartReplay and
 * StopReplay), one at a time across workers, and records every job in `<ns>:replays`, which the
 * gateway only reads. Finished jobs are removed with their namespace and consumer group after
 * `retentionMs`.
 */
export function createReplayWorker(partial: Partial<ReplayWorkerOptions> = {}): ReplayWorker {
  const o: ReplayWorkerOptions = { ...DEFAULT_REPLAY_WORKER_OPTIONS, ...partial };
  const redis = new Redis(o.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const sub = new Redis(o.redisUrl, { lazyConnect: true });
  for (const r of [redis, sub]) r.on("error", () => {}); // reported through failed calls
  const store = new ReplayJobStore(redis, o.redisNamespace);
  const keys = redisKeys(o.redisNamespace);
  const stats: ReplayWorkerStats = {
    commands: 0,
    rejectedCommands: 0,
    started: 0,
    refused: 0,
    finished: 0,
    cleaned: 0,
    orphaned: 0,
  };
  const timeTravel = new TimeTravelPool({
    kafkaBrokers: o.kafkaBrokers,
    kafkaTopic: o.kafkaTopic,
    redisUrl: o.redisUrl,
    namespace: o.redisNamespace,
    workerId: o.workerId,
    signals: o.signals,
    options: { ...DEFAULT_TIME_TRAVEL_OPTIONS, ...o.timeTravel },
  });
  let current: { job: ReplayJobRecord; abort: AbortController; done: Promise<void> } | undefined;
  let cleanupTimer: NodeJS.Timeout | undefined;
  let cleaning: Promise<void> | undefined;
  let stopped = false;
  let listening = false;

  // Job writes outlive a short Redis outage (a result must not be lost to one failed write).
  const save = (job: ReplayJobRecord) =>
    retry(() => store.put(job), { initialDelayMs: 100, maxDelayMs: 2_000, maxAttempts: 20 });

  const run = async (job: ReplayJobRecord, abort: AbortController) => {
    const refresh = setInterval(() => {
      job.updatedAtMs = Date.now();
      store.put(job).catch(() => {}); // next tick
    }, o.refreshIntervalMs);
    try {
      const report = await replayAndCompare({
        kafkaBrokers: o.kafkaBrokers,
        kafkaTopic: o.kafkaTopic,
        redisUrl: o.redisUrl,
        liveNamespace: o.redisNamespace,
        replayNamespace: job.namespace,
        groupId: job.groupId,
        timeoutMs: o.replayTimeoutMs,
        signal: abort.signal,
      });
      Object.assign(job, describeReport(report));
    } catch (err) {
      job.state = abort.signal.aborted ? "stopped" : "failed";
      job.detail = !abort.signal.aborted
        ? err instanceof Error
          ? err.message
          : String(err)
        : abort.signal.reason === SHUTDOWN
          ? "stopped: its replay worker shut down"
          : "stopped by an operator";
    } finally {
      clearInterval(refresh);
    }
    job.finishedAtMs = job.updatedAtMs = Date.now();
    stats.finished++;
    await save(job).catch((err: unknown) =>
      log.error("could not record a finished replay", { id: job.id, err: String(err) }),
    );
    log.info("replay finished", { id: job.id, state: job.state, detail: job.detail });
  };

  const startJob = async (id: string) => {
    const now = Date.now();
    const job: ReplayJobRecord = {
      id,
      state: "running",
      detail: "reprocessing the topic from offset 0",
      namespace: replayNamespace(o.redisNamespace, id),
      groupId: `quantcore-replay-${o.redisNamespace}-${id}`,
      worker: o.workerId,
      startedAtMs: now,
      updatedAtMs: now,
    };
    const claim = await store.claim(job, now - o.orphanAfterMs);
    if (!claim.claimed) {
      // The same id held: another worker took this very command. Another id: one replay at a time.
      if (claim.holder === id) return;
      stats.refused++;
      await store.putNew({
        ...job,
        state: "failed",
        detail: `refused: replay ${claim.holder} is still running`,
        finishedAtMs: now,
      });
      return;
    }
    stats.started++;
    log.info("replay started", { id, namespace: job.namespace, groupId: job.groupId });
    const abort = new AbortController();
    const done = run(job, abort).finally(() => {
      if (current?.job === job) current = undefined;
    });
    current = { job, abort, done };
  };

  const onCommand = (text: string) => {
    stats.commands++;
    let cmd;
    try {
      cmd = parseJson(replayCommandSchema, text, keys.replayCommands);
    } catch (err) {
      stats.rejectedCommands++;
      log.warn("ignored replay command", { err: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (stopped) return;
    if (cmd.type === "stop") {
      if (current?.job.id === cmd.id) current.abort.abort("operator");
      return;
    }
    startJob(cmd.id).catch((err: unknown) => log.error("could not start a replay", { id: cmd.id, err: String(err) }));
  };

  const cleanOnce = async () => {
    const now = Date.now();
    const kafka = createKafka({
      clientId: "quantcore-replay-cleanup",
      brokers: o.kafkaBrokers,
      logLevel: logLevel.NOTHING,
    });
    for (const job of await store.list()) {
      if (job.state === "running") {
        if (current?.job.id === job.id || job.updatedAtMs >= now - o.orphanAfterMs) continue;
        stats.orphaned++;
        await store.put({
          ...job,
          state: "failed",
          detail: `worker ${job.worker} stopped refreshing it`,
          finishedAtMs: now,
        });
        continue;
      }
      if ((job.finishedAtMs ?? job.updatedAtMs) + o.retentionMs > now) continue;
      // Only what this worker would have named: a corrupt entry must not delete another namespace.
      if (job.namespace !== replayNamespace(o.redisNamespace, job.id)) {
        log.warn("replay job names a foreign namespace; left alone", { id: job.id, namespace: job.namespace });
        continue;
      }
      try {
        await deleteGroup(kafka, job.groupId);
        await store.remove(job);
        stats.cleaned++;
        log.info("replay job removed after retention", { id: job.id, groupId: job.groupId });
      } catch (err) {
        log.warn("replay cleanup deferred", { id: job.id, err: err instanceof Error ? err.message : String(err) });
      }
    }
  };
  const cleanup = () => {
    cleaning ??= cleanOnce()
      .catch((err: unknown) => log.warn("replay cleanup failed", { err: String(err) }))
      .finally(() => (cleaning = undefined));
    return cleaning;
  };

  return {
    options: o,
    async start() {
      try {
        await Promise.all([redis.connect(), sub.connect()]);
        sub.on("message", (_channel: string, message: string) => onCommand(message));
        await sub.subscribe(keys.replayCommands);
        await timeTravel.start();
        listening = true;
      } catch (err) {
        throw QuantCoreError.infra("redis", err);
      }
      cleanupTimer = setInterval(() => void cleanup(), o.cleanupIntervalMs);
      void cleanup();
    },
    async stop() {
      stopped = true;
      clearInterval(cleanupTimer);
      sub.disconnect();
      current?.abort.abort(SHUTDOWN);
      await timeTravel.stop();
      if (current && !(await settlesWithin(current.done, 20_000))) log.warn("replay did not stop in time");
      if (cleaning && !(await settlesWithin(cleaning, 10_000))) log.warn("replay cleanup did not end in time");
      redis.disconnect();
    },
    cleanup,
    stats: () => ({ ...stats }),
    timeTravelStats: () => ({ ...timeTravel.stats }),
    metrics: createReplayWorkerMetrics(
      () => ({ ...stats }),
      () => ({ ...timeTravel.stats }),
    ),
    ready: () => listening && !stopped,
  };
}
