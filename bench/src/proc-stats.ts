// CPU and memory of processes and of the machine, read from /proc (Linux only).
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat and /proc/stat (almost always 100). */
export const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function statFields(pid: number): string[] | undefined {
  try {
    // The command name (field 2) may hold spaces: split after its closing parenthesis.
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined; // gone
  }
}

/** utime + stime of a process in seconds (undefined once it is gone). */
export function cpuSeconds(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / CLOCK_TICKS_PER_SECOND : undefined;
}

/** Resident set size in MB (0 once the process is gone). */
export function rssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Direct children of a process (e.g. the shards of the ingest supervisor). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    if (Number(statFields(Number(name))?.[1]) === pid) out.push(Number(name));
  }
  return out;
}

/** Busy and total ticks of the whole machine (all cores), from the first line of /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3]! - cpu[4]!, total };
}

/** A named group of processes whose members are looked up at each sample (shards may restart). */
export interface ProcGroup {
  name: string;
  pids: () => number[];
}

export interface GroupUsage {
  processes: number;
  cpuSeconds: number;
  /** Of one core: 200 = two cores busy. */
  cpuPercent: number;
  /** Peak over the point of the group's summed RSS. */
  peakRssMb: number;
  /** CPU time per offered update, in microseconds: the figure that compares across machines. */
  cpuUsPerOfferedUpdate: number;
}

/** CPU over a window (start .. finish) and peak RSS (sampled by tick) for each group, plus machine busy %. */
export class ProcSampler {
  private startCpu = new Map<number, number>();
  private startAtMs = 0;
  private startMachine = machineTicks();
  private peakRss = new Map<string, number>();

  constructor(private readonly groups: ProcGroup[]) {}

  start(): void {
    this.startCpu.clear();
    this.peakRss.clear();
    for (const g of this.groups) for (const pid of g.pids()) this.startCpu.set(pid, cpuSeconds(pid) ?? 0);
    this.startAtMs = performance.now();
    this.startMachine = machineTicks();
    this.tick();
  }

  /** Samples RSS; call about once a second. */
  tick(): void {
    for (const g of this.groups) {
      const rss = g.pids().reduce((a, pid) => a + rssMb(pid), 0);
      this.peakRss.set(g.name, Math.max(this.peakRss.get(g.name) ?? 0, rss));
    }
  }

  finish(offeredUpdates: number): { groups: Record<string, GroupUsage>; machineBusyPercent: number; seconds: number } {
    this.tick();
    const seconds = (performance.now() - this.startAtMs) / 1000;
    const m = machineTicks();
    const groups: Record<string, GroupUsage> = {};
    for (const g of this.groups) {
      const pids = g.pids();
      // A process born during the window (a restarted shard) counts from its start.
      const cpu = pids.reduce((a, pid) => a + Math.max(0, (cpuSeconds(pid) ?? 0) - (this.startCpu.get(pid) ?? 0)), 0);
      groups[g.name] = {
        processes: pids.length,
        cpuSeconds: round(cpu, 2),
        cpuPercent: round((cpu / seconds) * 100, 1),
        peakRssMb: round(this.peakRss.get(g.name) ?? 0, 1),
        cpuUsPerOfferedUpdate: offeredUpdates > 0 ? round((cpu * 1e6) / offeredUpdates, 1) : NaN,
      };
    }
    const busy = m.busy - this.startMachine.busy;
    const total = m.total - this.startMachine.total;
    return { groups, machineBusyPercent: round(total > 0 ? (busy / total) * 100 : NaN, 1), seconds: round(seconds, 2) };
  }
}

export const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;
