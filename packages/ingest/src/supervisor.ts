import { spawn, type ChildProcess } from "node:child_process";
import { backoffDelayMs, createLogger } from "@quantcore/runtime";

const log = createLogger("ingest.supervisor");

export interface SupervisorOptions {
  /** argv of one shard process; SHARD_ID and SHARD_COUNT are added to its env. */
  command: string[];
  shardCount: number;
  env: NodeJS.ProcessEnv;
  restartInitialDelayMs: number;
  restartMaxDelayMs: number;
  /** A shard up this long is healthy again: its next crash restarts after the initial delay. */
  healthyAfterMs: number;
  /** On stop, SIGTERM first; SIGKILL what is still alive after this. */
  stopTimeoutMs: number;
  onOutput?: (shardId: number, chunk: Buffer) => void;
}

export const DEFAULT_SUPERVISOR_OPTIONS = Object.freeze({
  env: {},
  restartInitialDelayMs: 500,
  restartMaxDelayMs: 30_000,
  healthyAfterMs: 60_000,
  stopTimeoutMs: 10_000,
}) satisfies Partial<SupervisorOptions>;

export interface ShardStatus {
  shardId: number;
  pid: number | undefined;
  restarts: number;
  lastExit: string | undefined;
}

export interface Supervisor {
  status(): ShardStatus[];
  stop(): Promise<void>;
}

/**
 * Runs one process per shard and restarts any that exits while the supervisor runs, with
 * exponential backoff and jitter so a shard crashing on start cannot hammer Binance.
 */
export function superviseShards(
  partial: Partial<SupervisorOptions> & Pick<SupervisorOptions, "command" | "shardCount">,
): Supervisor {
  const o: SupervisorOptions = { ...DEFAULT_SUPERVISOR_OPTIONS, ...partial };
  if (o.command.length === 0) throw new RangeError("command must not be empty");
  let stopping = false;
  const shards = Array.from({ length: o.shardCount }, (_, shardId) => ({
    shardId,
    proc: undefined as ChildProcess | undefined,
    restarts: 0,
    crashesInRow: 0,
    startedAtMs: 0,
    lastExit: undefined as string | undefined,
    timer: undefined as NodeJS.Timeout | undefined,
  }));

  const start = (s: (typeof shards)[number]) => {
    const [cmd, ...args] = o.command;
    const proc = spawn(cmd!, args, {
      env: { ...process.env, ...o.env, SHARD_ID: String(s.shardId), SHARD_COUNT: String(o.shardCount) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    s.proc = proc;
    s.startedAtMs = Date.now();
    const out = (c: Buffer) => o.onOutput?.(s.shardId, c);
    proc.stdout?.on("data", out);
    proc.stderr?.on("data", out);
    proc.on("error", (err) => log.error("shard failed to start", { shardId: s.shardId, err: err.message }));
    proc.on("exit", (code, signal) => {
      s.proc = undefined;
      s.lastExit = signal ? `signal ${signal}` : `code ${code}`;
      if (stopping) return;
      if (Date.now() - s.startedAtMs >= o.healthyAfterMs) s.crashesInRow = 0;
      const delayMs = backoffDelayMs(s.crashesInRow++, {
        initialDelayMs: o.restartInitialDelayMs,
        maxDelayMs: o.restartMaxDelayMs,
        multiplier: 2,
      });
      log.warn("shard exited; restarting", { shardId: s.shardId, exit: s.lastExit, delayMs });
      s.timer = setTimeout(() => {
        s.restarts++;
        start(s);
      }, delayMs);
    });
  };
  for (const s of shards) start(s);
  log.info("supervising shards", { shardCount: o.shardCount });

  return {
    status: () =>
      shards.map((s) => ({ shardId: s.shardId, pid: s.proc?.pid, restarts: s.restarts, lastExit: s.lastExit })),
    async stop() {
      stopping = true;
      await Promise.all(
        shards.map(async (s) => {
          clearTimeout(s.timer);
          const proc = s.proc;
          if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
          const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
          proc.kill("SIGTERM");
          const kill = setTimeout(() => proc.kill("SIGKILL"), o.stopTimeoutMs);
          await exited;
          clearTimeout(kill);
        }),
      );
    },
  };
}
