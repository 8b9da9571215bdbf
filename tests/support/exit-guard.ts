import { createHook } from "node:async_hooks";

// Where each live timer, socket, server and child process was created, so a leaked one can be
// named (timers are not in process._getActiveHandles(), and a socket alone does not say whose it is).
Error.stackTraceLimit = 40;
const TRACKED = new Set(["Timeout", "TCPWRAP", "TCPSERVERWRAP", "PIPEWRAP", "PROCESSWRAP", "UDPWRAP"]);
const live = new Map<number, { type: string; resource: { hasRef?: () => boolean }; stack: string }>();
createHook({
  init(asyncId, type, _trigger, resource) {
    if (TRACKED.has(type))
      live.set(asyncId, { type, resource: resource as { hasRef?: () => boolean }, stack: new Error().stack ?? "" });
  },
  destroy(asyncId) {
    live.delete(asyncId);
  },
}).enable();

/** What still holds the process, each with where it was created (our frames, not node's). */
export function leakedHandles(): { type: string; createdAt: string }[] {
  return [...live.values()]
    .filter((t) => t.resource.hasRef?.() !== false)
    .map((t) => ({
      type: t.type,
      createdAt: t.stack
        .split("\n")
        .slice(2)
        .map((l) => l.trim())
        .filter((l) => !l.includes("node:internal") && !l.includes("exit-guard"))
        .slice(0, 30)
        .join(" <- "),
    }));
}

/**
 * Call last in a file's `after` hook. Every service has been stopped by then, so the process
 * should exit by itself; if a client library still holds a socket or timer it would never exit
 * and the whole run would hang. If the process is still alive `graceMs` later, that is a leak:
 * report what is left and where each was created (so it can be fixed), and exit with code 1 so
 * the run fails instead of passing with a leak.
 */
export function exitWhenDone(graceMs = 10_000): void {
  setTimeout(() => {
    console.error(
      `[exit-guard] FAIL: still alive ${graceMs} ms after cleanup; open resources: ${JSON.stringify(process.getActiveResourcesInfo())}; referenced handles and where they were created: ${JSON.stringify(leakedHandles(), null, 2)}`,
    );
    process.exit(1);
  }, graceMs).unref();
}
