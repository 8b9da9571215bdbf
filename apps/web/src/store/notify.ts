// Change notification on a frame budget: each topic tells its subscribers at most once per its
// interval, however many updates arrived meanwhile. Subscribers read the store's data when told;
// the version is what useSyncExternalStore compares.

/** Redraw budgets per topic, in milliseconds between notifications. */
export const TOPIC_INTERVAL_MS = {
  /** Heatmap and its value column: ~3 Hz. */
  heatmap: 333,
  /** Charts, table view, latency and shards: 1 Hz. */
  charts: 1_000,
  /** Connection banner, per-symbol status, action progress: soon, but coalesced. */
  status: 100,
} as const;
export type Topic = keyof typeof TOPIC_INTERVAL_MS;

export class Notifier {
  private readonly versions: Record<Topic, number> = { heatmap: 0, charts: 0, status: 0 };
  private readonly listeners: Record<Topic, Set<() => void>> = {
    heatmap: new Set(),
    charts: new Set(),
    status: new Set(),
  };
  private readonly lastAt: Record<Topic, number> = { heatmap: 0, charts: 0, status: 0 };
  /** Wall clock of each topic's latest notification: the "now" its readers render for. */
  private readonly stamps: Record<Topic, number>;
  private readonly timers: Partial<Record<Topic, ReturnType<typeof setTimeout>>> = {};

  constructor(private readonly intervals: Record<Topic, number> = TOPIC_INTERVAL_MS) {
    const now = Date.now();
    this.stamps = { heatmap: now, charts: now, status: now };
  }

  /** The time a topic's readers render for (renders stay pure: no clock reads during render). */
  stamp(topic: Topic): number {
    return this.stamps[topic];
  }

  version(topic: Topic): number {
    return this.versions[topic];
  }

  subscribe(topic: Topic, listener: () => void): () => void {
    this.listeners[topic].add(listener);
    return () => this.listeners[topic].delete(listener);
  }

  /** Something the topic shows changed: notify within its interval (one notification). */
  dirty(topic: Topic): void {
    if (this.timers[topic] !== undefined) return;
    const wait = Math.max(0, this.lastAt[topic] + this.intervals[topic] - Date.now());
    this.timers[topic] = setTimeout(() => {
      this.timers[topic] = undefined;
      this.lastAt[topic] = this.stamps[topic] = Date.now();
      this.versions[topic]++;
      for (const l of this.listeners[topic]) l();
    }, wait);
  }

  dirtyAll(): void {
    this.dirty("heatmap");
    this.dirty("charts");
    this.dirty("status");
  }

  close(): void {
    for (const t of Object.values(this.timers)) if (t !== undefined) clearTimeout(t);
  }
}
