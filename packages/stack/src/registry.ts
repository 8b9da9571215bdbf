import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { defaultWorkDir } from "./paths.js";
import { cmdline, isAlive } from "./proc.js";

// Every process the stack starts is recorded (pid + what its command line must contain), so
// that (a) a parent that exits takes its children with it and (b) leftovers of a crashed run
// are cleaned up on the next start without ever killing an unrelated process that reused a pid.

interface Entry {
  pid: number;
  kind: string;
  match: string;
  owner: number;
}

const live = new Map<number, Entry>();
let hooked = false;

function file(): string {
  const dir = defaultWorkDir();
  mkdirSync(dir, { recursive: true });
  return path.join(dir, "pids.json");
}

function read(): Entry[] {
  try {
    return existsSync(file()) ? (JSON.parse(readFileSync(file(), "utf8")) as Entry[]) : [];
  } catch {
    return [];
  }
}

function write(entries: Entry[]): void {
  writeFileSync(file(), JSON.stringify(entries, null, 2));
}

function killSync(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* gone */
  }
}

export function track(e: Omit<Entry, "owner">): void {
  const entry = { ...e, owner: process.pid };
  live.set(e.pid, entry);
  write([...read().filter((x) => x.pid !== e.pid), entry]);
  if (!hooked) {
    hooked = true;
    process.on("exit", () => {
      for (const x of live.values()) killSync(x.pid);
    });
  }
}

export function untrack(pid: number): void {
  live.delete(pid);
  write(read().filter((x) => x.pid !== pid));
}

/** Kills processes recorded by owners that no longer run (a crashed or SIGKILLed parent). */
export function reapOrphans(): number {
  let reaped = 0;
  const keep: Entry[] = [];
  for (const e of read()) {
    if (isAlive(e.owner) && e.owner !== process.pid) keep.push(e);
    else if (e.owner !== process.pid && isAlive(e.pid) && cmdline(e.pid).includes(e.match)) {
      killSync(e.pid);
      reaped++;
    } else if (e.owner === process.pid) keep.push(e);
  }
  write(keep);
  return reaped;
}

/** Everything recorded, for `stack down`. */
export function recorded(): Entry[] {
  return read();
}
