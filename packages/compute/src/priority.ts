import { readdirSync } from "node:fs";
import { setPriority } from "node:os";

/**
 * Sets the nice value of EVERY thread of this process. On Linux a nice value is per thread, and
 * os.setPriority(n) changes the calling thread only: V8's GC and compiler threads and libuv's
 * pool, started before it, kept nice 0 and competed with the live path at full weight. Threads
 * started later inherit the value. Returns the threads changed; throws when the main thread's fails.
 */
export function setProcessNice(nice: number): number {
  let tids: number[] = [];
  try {
    tids = readdirSync("/proc/self/task")
      .map(Number)
      .filter((t) => Number.isInteger(t) && t > 0);
  } catch {
    // No procfs: the process as the OS sees it.
  }
  if (tids.length === 0) {
    setPriority(nice);
    return 1;
  }
  let changed = 0;
  for (const tid of tids) {
    try {
      setPriority(tid, nice);
      changed++;
    } catch (err) {
      if (tid === process.pid) throw err; // a helper thread may just have exited
    }
  }
  return changed;
}
