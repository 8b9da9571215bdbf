import { Redis } from "ioredis";
import {
  controlCommandSchema,
  createLogger,
  parseJson,
  redisKeys,
  type ControlCommand,
  type ShardHeartbeat,
} from "@quantcore/runtime";
import type { IngestStats } from "./service.js";

const log = createLogger("ingest.health");

/**
 * Publishes this shard's heartbeat into Redis (`<ns>:shards`, field = shard id) for the
 * control plane, and listens on `<ns>:control` for operator commands. Redis being down only
 * pauses the heartbeat: ingest itself never depends on it.
 */
export class ShardHealthReporter {
  private readonly redis: Redis;
  private readonly sub: Redis;
  private timer: NodeJS.Timeout | undefined;
  private lastFrames = 0;
  private lastAtMs = Date.now();
  /** Control commands refused by their schema (logged). */
  rejectedCommands = 0;

  constructor(
    url: string,
    private readonly ns: string,
    private readonly shardId: number,
    private readonly symbols: string[],
    private readonly stats: () => IngestStats,
    private readonly onCommand: (c: ControlCommand) => void,
  ) {
    this.redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.sub = new Redis(url, { lazyConnect: true });
    for (const c of [this.redis, this.sub]) c.on("error", () => {});
    this.sub.on("message", (_ch: string, msg: string) => {
      let cmd: ControlCommand;
      try {
        cmd = parseJson(controlCommandSchema, msg, "control command");
      } catch (err) {
        this.rejectedCommands++;
        log.warn("ignored malformed control command", {
          err: err instanceof Error ? err.message : String(err),
          rejected: this.rejectedCommands,
        });
        return;
      }
      if (cmd.shardId === undefined || cmd.shardId === this.shardId) this.onCommand(cmd);
    });
  }

  async start(intervalMs: number): Promise<void> {
    await Promise.all([this.redis.connect().catch(() => {}), this.sub.connect().catch(() => {})]);
    await this.sub.subscribe(redisKeys(this.ns).control).catch(() => {});
    const beat = () => {
      const s = this.stats();
      const now = Date.now();
      const hb: ShardHeartbeat = {
        shardId: this.shardId,
        symbols: this.symbols,
        connected: s.connected,
        framesPerSecond: ((s.frames - this.lastFrames) * 1000) / Math.max(1, now - this.lastAtMs),
        lastFrameAgeMs: s.lastFrameAtMs > 0 ? now - s.lastFrameAtMs : -1,
        reconnects: s.reconnects,
        resyncs: s.resets,
        gaps: s.gaps,
        rejectedFrames: Object.values(s.rejected).reduce((a, b) => a + (b ?? 0), 0),
        producerBacklog: s.producerBacklog,
        updatedAtMs: now,
      };
      this.lastFrames = s.frames;
      this.lastAtMs = now;
      this.redis.hset(redisKeys(this.ns).shards, String(this.shardId), JSON.stringify(hb)).catch(() => {});
    };
    beat();
    this.timer = setInterval(beat, intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.redis.disconnect();
    this.sub.disconnect();
  }
}
